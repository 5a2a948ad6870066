"""serve(): listens, logs, and on SIGTERM/SIGINT stops accepting, drains in-flight
requests, then closes the pool. Every wait is bounded so a broken server fails fast."""

import asyncio
import contextlib
import gc
import io
import os
import signal
import socket
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import aiohttp
import pytest
from aiohttp import web

from events.postgres import PostgresEventStore
from service.app import create_app
from service.config import Settings
from tests.conftest import log_lines
from tests.integration.service.serving import served

LIMIT = 20.0


class SlowRoute:
    """GET /compute/test/slow: signals it started, then waits to be released."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.stores: list[PostgresEventStore] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.started.set()
        await self.release.wait()
        return web.Response(text="done")

    def factory(self, settings: Settings, store: PostgresEventStore) -> web.Application:
        self.stores.append(store)
        return create_app(
            settings, store, extra_routes={"compute": [web.get("/test/slow", self.handle)]}
        )


@contextlib.asynccontextmanager
async def running(
    database_url: str, slow: SlowRoute, *, listen: str = "127.0.0.1:0", **kwargs: float
) -> AsyncIterator[tuple[str, "asyncio.Task[None]"]]:
    """serve() of the slow route's app in a task (tests/integration/service/serving.py)."""
    async with served(Settings(listen=listen), database_url, slow.factory, **kwargs) as serving:
        yield serving


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


async def listening(url: str) -> bool:
    parts = urlsplit(url)
    try:
        _, writer = await asyncio.open_connection(parts.hostname, parts.port)
    except OSError:
        return False
    writer.close()
    await writer.wait_closed()
    return True


async def until_refused(url: str) -> None:
    while await listening(url):
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_stop_signal_drains_in_flight_requests(
    database_url: str, log_stream: io.StringIO, signum: int
) -> None:
    slow = SlowRoute()
    async with running(database_url, slow) as (url, task):
        async with asyncio.timeout(LIMIT):
            assert (await get(f"{url}/compute/"))[0] == 200
            in_flight = asyncio.create_task(get(f"{url}/compute/test/slow"))
            await slow.started.wait()
            os.kill(os.getpid(), signum)
            # Stops accepting new connections while the slow request is still running...
            await until_refused(url)
            assert not task.done()
            assert not in_flight.done()
            # ...which then completes normally, and only then does serve() return.
            slow.release.set()
            assert await in_flight == (200, "done")
            await task
    assert slow.stores[0].pool.is_closing()
    messages = [
        line["message"] for line in log_lines(log_stream) if line["logger"] == "kumo.server"
    ]
    assert messages[0] == f"serving on {url}"
    assert messages[-1] == "stopped"


async def test_requests_still_running_after_the_timeout_are_cut_off(database_url: str) -> None:
    slow = SlowRoute()
    async with running(database_url, slow, shutdown_timeout=0.3) as (url, task):
        async with asyncio.timeout(LIMIT):
            in_flight = asyncio.create_task(get(f"{url}/compute/test/slow"))
            await slow.started.wait()
            os.kill(os.getpid(), signal.SIGTERM)
            await task
            with pytest.raises(aiohttp.ClientError):
                await in_flight
    assert slow.stores[0].pool.is_closing()


async def test_busy_port_raises_and_closes_the_pool(database_url: str) -> None:
    slow = SlowRoute()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError):
            async with running(database_url, slow, listen=f"127.0.0.1:{port}"):
                pass
    assert slow.stores[0].pool.is_closing()


async def test_what_start_up_made_is_kept_from_the_collector_once_serving(
    database_url: str,
) -> None:
    gc.unfreeze()
    try:
        async with running(database_url, SlowRoute()):
            assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
