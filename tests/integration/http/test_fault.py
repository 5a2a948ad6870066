"""The fault middleware on a real aiohttp server: a client that went away mid-answer is
one line of log, not a traceback; a ConnectionError that is not the client's (a
backend's) is a 500 with a fault body and its traceback logged."""

import asyncio
import logging
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import ClientSession, web

from service.http.fault import error_middleware

BODY_START = b"x" * 1024


async def answer_then_lose_the_client(request: web.Request) -> web.StreamResponse:
    """Starts a long answer; the client then resets, and the write fails."""
    response = web.StreamResponse()
    response.content_length = 1 << 30
    await response.prepare(request)
    await response.write(BODY_START)
    assert request.transport is not None
    request.transport.abort()  # what the client's reset does to the connection
    await asyncio.sleep(0)
    raise ConnectionResetError("the client reset the connection")


async def backend_refuses(request: web.Request) -> web.StreamResponse:
    raise ConnectionRefusedError("the backend refused the connection")


@pytest.fixture
async def port() -> AsyncIterator[int]:
    app = web.Application(middlewares=[error_middleware])
    app.router.add_get("/gone", answer_then_lose_the_client)
    app.router.add_get("/backend", backend_refuses)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield runner.addresses[0][1]
    await runner.cleanup()


def read_until_closed(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.sendall(b"GET /gone HTTP/1.1\r\nHost: test\r\n\r\n")
        conn.settimeout(5)
        received = bytearray()
        try:
            while piece := conn.recv(65536):
                received += piece
        except ConnectionResetError:
            pass
        return bytes(received)


async def test_a_client_gone_mid_answer_is_one_line_not_a_traceback(
    port: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    received = await asyncio.to_thread(read_until_closed, port)
    assert received.startswith(b"HTTP/1.1 200 OK")
    assert len(received.partition(b"\r\n\r\n")[2]) < 1 << 30  # cut short
    await asyncio.sleep(0.1)  # the server finishes with the request
    noted = [r for r in caplog.records if r.name == "kumo.http"]
    assert [r.getMessage() for r in noted] == [
        "client went away during GET /gone: the client reset the connection"
    ]
    assert noted[0].levelno == logging.INFO
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def test_a_backends_connection_error_is_a_500_with_its_traceback(
    port: int, caplog: pytest.LogCaptureFixture
) -> None:
    async with ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{port}/backend") as response:
            assert response.status == 500
            body = await response.text()
    assert "refused" not in body  # no internal detail reaches the client
    [logged] = [r for r in caplog.records if r.name == "kumo.http"]
    assert logged.levelno == logging.ERROR and logged.exc_info is not None
