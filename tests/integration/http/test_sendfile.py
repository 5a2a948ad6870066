"""Bodies sent by os.sendfile (service/http/sendfile.py) over a real aiohttp server on
loopback, read by plain sockets: the bytes and ranges, keep-alive and pipelining after
them, and what is left behind by a client that goes away, a cancelled handler and a
file cut short."""

import asyncio
import os
import socket
import struct
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import msgspec
import pytest
from aiohttp import web

from service.http.sendfile import send_object
from service.storage.localfs import LocalFsBackend
from tests.integration.storage.helpers import chunks

MiB = 1024 * 1024
DATA = os.urandom(9 * MiB + 17)
"""Bigger than loopback's socket buffers, so the sender waits for the reader."""
ROOT = web.AppKey("root", Path)
BACKEND = web.AppKey("backend", LocalFsBackend)


class Server(msgspec.Struct):
    port: int
    runner: web.AppRunner
    file: Path
    """Where the local backend keeps the object "big"."""


class Reply(msgspec.Struct):
    status: int
    headers: dict[str, str]
    body: bytes


async def serve_object(request: web.Request) -> web.StreamResponse:
    """The object's bytes, or bytes ?first= to ?last=; with ?cut=N its file is cut to N
    bytes once opened; with ?chunked=1 the response has no Content-Length; with
    ?prefix=N, N bytes "p" written the usual way come first."""
    query = request.query
    byte_range = (int(query["first"]), int(query["last"])) if "first" in query else None
    reader = await request.app[BACKEND].get(request.match_info["key"], byte_range=byte_range)
    async with reader:
        if "cut" in query:
            os.truncate(request.app[ROOT] / f"{request.match_info['key']}.o", int(query["cut"]))
        response = web.StreamResponse(status=206 if byte_range else 200)
        prefix = b"p" * int(query.get("prefix", 0))
        if "chunked" not in query:
            response.content_length = len(prefix) + reader.content_length
        await response.prepare(request)
        await response.write(prefix)
        await send_object(request, response, reader)
        await response.write_eof()
    return response


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    backend = LocalFsBackend(tmp_path)
    await backend.start()
    await backend.put("big", chunks(DATA, MiB))
    app = web.Application()
    app[ROOT], app[BACKEND] = tmp_path, backend
    app.router.add_get("/{key}", serve_object)
    runner = web.AppRunner(app, shutdown_timeout=0.2)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield Server(runner.addresses[0][1], runner, tmp_path / "big.o")
    await runner.cleanup()


def request(path: str, method: str = "GET") -> bytes:
    return f"{method} {path} HTTP/1.1\r\nHost: test\r\n\r\n".encode()


def read_reply(conn: socket.socket, buffered: bytearray) -> Reply:
    """One response from `conn` (framed by its Content-Length); bytes read beyond it stay
    in `buffered` for the next."""
    while b"\r\n\r\n" not in buffered:
        piece = conn.recv(65536)
        assert piece, "connection closed before the headers"
        buffered += piece
    head, _, rest = bytes(buffered).partition(b"\r\n\r\n")
    status_line, *lines = head.decode().split("\r\n")
    headers = {name.lower(): value for name, value in (line.split(": ", 1) for line in lines)}
    length = int(headers["content-length"])
    body = bytearray(rest)
    while len(body) < length:
        piece = conn.recv(MiB)
        assert piece, f"connection closed {length - len(body)} bytes short"
        body += piece
    buffered[:] = body[length:]
    return Reply(int(status_line.split()[1]), headers, bytes(body[:length]))


def fetch(port: int, *paths: str, pipelined: bool = False) -> list[Reply]:
    """GET each path on one connection: one after another, or all sent at once."""
    with socket.create_connection(("127.0.0.1", port)) as conn:
        buffered = bytearray()
        if pipelined:
            conn.sendall(b"".join(request(path) for path in paths))
            return [read_reply(conn, buffered) for _ in paths]
        replies = []
        for path in paths:
            conn.sendall(request(path))
            replies.append(read_reply(conn, buffered))
        return replies


def sendfile_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "kumo-sendfile"]


def open_paths() -> list[str]:
    """What this process's descriptors point at (files, "socket:[...]")."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            found.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:  # the listing's own descriptor, gone
            pass
    return found


async def until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("not within the time allowed")


def open_sockets() -> int:
    return sum(path.startswith("socket:") for path in open_paths())


def released(server: Server, sockets: int) -> bool:
    """No transfer thread left, the object's file closed, `sockets` sockets open."""
    file_open = str(server.file) in open_paths()
    return not sendfile_threads() and not file_open and open_sockets() == sockets


async def test_the_object_and_its_ranges_go_by_sendfile(
    server: Server, sendfile_calls: list[int]
) -> None:
    ranges = [(0, len(DATA) - 1), (1, 2 * MiB), (3 * MiB + 5, len(DATA) - 1)]
    paths = ["/big"] + [f"/big?first={first}&last={last}" for first, last in ranges]
    replies = await asyncio.to_thread(fetch, server.port, *paths)
    assert replies[0].status == 200 and replies[0].body == DATA
    for reply, (first, last) in zip(replies[1:], ranges, strict=True):
        assert reply.status == 206
        assert reply.body == DATA[first : last + 1]
    assert sendfile_calls, "the bytes did not go by sendfile"
    # A transfer's thread ends just after its last bytes, which the client may read first.
    await until(lambda: not sendfile_threads())


async def test_concurrent_transfers(server: Server, sendfile_calls: list[int]) -> None:
    ranges = [(i * MiB, len(DATA) - 1 - i) for i in range(8)]
    paths = [f"/big?first={first}&last={last}" for first, last in ranges]
    loop = asyncio.get_running_loop()
    # Threads of their own: blocked in the default executor, the clients would hold the
    # threads the server's file opening needs.
    with ThreadPoolExecutor(len(paths)) as clients:
        fetches = [loop.run_in_executor(clients, fetch, server.port, path) for path in paths]
        replies = await asyncio.gather(*fetches)
    for [reply], (first, last) in zip(replies, ranges, strict=True):
        assert reply.body == DATA[first : last + 1]
    assert len(sendfile_calls) >= len(ranges)
    await until(lambda: not sendfile_threads())


async def test_keep_alive_and_pipelined_requests_after_a_sendfile(
    server: Server, sendfile_calls: list[int]
) -> None:
    replies = await asyncio.to_thread(
        fetch, server.port, "/big", "/big?first=5&last=1048580", "/big", pipelined=True
    )
    assert [r.status for r in replies] == [200, 206, 200]
    assert replies[0].body == replies[2].body == DATA
    assert replies[1].body == DATA[5:1048581]
    assert all(r.headers.get("connection", "").lower() != "close" for r in replies)
    assert sendfile_calls


async def test_a_head_request_gets_no_bytes(server: Server) -> None:
    def head_then_get() -> tuple[bytes, Reply]:
        with socket.create_connection(("127.0.0.1", server.port)) as conn:
            conn.sendall(request("/big?first=0&last=2097151", "HEAD"))
            received = bytearray()
            while b"\r\n\r\n" not in received:
                received += conn.recv(65536)
            head, _, rest = bytes(received).partition(b"\r\n\r\n")
            assert b"Content-Length: 2097152" in head
            conn.sendall(request("/big?first=0&last=9"))
            return rest, read_reply(conn, bytearray())

    rest, reply = await asyncio.to_thread(head_then_get)
    assert rest == b""
    assert (reply.status, reply.body) == (206, DATA[:10])


async def test_bytes_written_before_leave_the_transport_first(
    server: Server, sendfile_calls: list[int]
) -> None:
    # 4 MiB do not fit loopback's buffers at once: the transport holds some when
    # `write` returns, and the file's bytes must not overtake them.
    [reply] = await asyncio.to_thread(fetch, server.port, f"/big?prefix={4 * MiB}")
    assert reply.body == b"p" * (4 * MiB) + DATA
    assert sendfile_calls


async def test_without_a_content_length_the_bytes_go_in_chunks(
    server: Server, sendfile_calls: list[int]
) -> None:
    def chunked() -> bytes:
        with socket.create_connection(("127.0.0.1", server.port)) as conn:
            conn.sendall(b"GET /big?chunked=1 HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
            received = bytearray()
            while piece := conn.recv(MiB):
                received += piece
        head, _, body = bytes(received).partition(b"\r\n\r\n")
        assert b"Transfer-Encoding: chunked" in head
        data, rest = bytearray(), body
        while True:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line, 16)
            if size == 0:
                return bytes(data)
            data += rest[:size]
            rest = rest[size + 2 :]

    assert await asyncio.to_thread(chunked) == DATA
    assert not sendfile_calls


async def test_a_client_that_goes_away_leaves_no_thread_or_descriptor(server: Server) -> None:
    sockets_before = open_sockets()

    def leave_half_way() -> None:
        conn = socket.create_connection(("127.0.0.1", server.port))
        conn.sendall(request("/big"))
        got = 0
        while got < MiB:
            got += len(conn.recv(65536))
        assert sendfile_threads(), "the transfer should be under way"
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()  # a reset, with most of the body unsent

    await asyncio.to_thread(leave_half_way)
    await until(lambda: released(server, sockets_before))
    [reply] = await asyncio.to_thread(fetch, server.port, "/big?first=0&last=9")
    assert reply.body == DATA[:10]


async def test_a_cancelled_transfer_stops_and_closes_the_connection(server: Server) -> None:
    sockets_before = open_sockets()
    conn = socket.create_connection(("127.0.0.1", server.port))
    try:
        conn.sendall(request("/big"))
        await until(lambda: bool(sendfile_threads()))
        # The client reads nothing; the server stops, cancelling the handler after 0.2 s.
        await server.runner.cleanup()
        # Its listening socket went, the client's own is still open.
        await until(lambda: released(server, sockets_before))
        conn.settimeout(5)
        received = 0
        try:
            while piece := conn.recv(MiB):
                received += len(piece)
        except ConnectionResetError:
            pass
        assert received < len(DATA)
    finally:
        conn.close()


async def test_a_file_cut_short_aborts_the_connection(server: Server) -> None:
    cut = MiB + 3

    def fetch_cut() -> tuple[bytes, bytes]:
        with socket.create_connection(("127.0.0.1", server.port)) as conn:
            conn.sendall(request(f"/big?cut={cut}"))
            received = bytearray()
            try:
                while piece := conn.recv(MiB):
                    received += piece
            except ConnectionResetError:
                pass
        head, _, body = bytes(received).partition(b"\r\n\r\n")
        return head, body

    head, body = await asyncio.to_thread(fetch_cut)
    assert f"Content-Length: {len(DATA)}".encode() in head
    assert body == DATA[:cut]  # then the connection ended: no error page inside the body
    await until(lambda: not sendfile_threads() and str(server.file) not in open_paths())
