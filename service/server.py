"""Run Kumo's web application until SIGINT or SIGTERM, then stop gracefully."""

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Callable
from functools import partial

from aiohttp import web

from events.postgres import PostgresEventStore, close_pool, create_pool
from service import heap
from service.app import create_app
from service.config import Settings
from service.http_workers import http_workers, primary_gone
from service.read_models import async_projections, kumo_store

log = logging.getLogger("kumo.server")

POOL_SIZE = 30
"""Database connections of one process: requests, subscriptions and reactors share them."""

SHUTDOWN_TIMEOUT = 10.0
"""Seconds in-flight requests get to finish once a stop signal arrives."""

AppFactory = Callable[[Settings, PostgresEventStore], web.Application]
SERVING_APP: AppFactory = partial(create_app, compute=True)
"""The app `kumo up` serves: every API and this host's compute worker."""
HTTP_WORKER_APP: AppFactory = partial(create_app, console=True, reapers=False)
"""The app a `kumo http-worker` serves: every API, without a compute host (it reads
console logs through a connection of its own) or reapers."""


def reusable_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host:port with SO_REUSEPORT, not yet listening: the port is
    this cloud's (its workers bind it too) before anyone can connect."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


async def _site(
    stack: contextlib.AsyncExitStack,
    runner: web.AppRunner,
    settings: Settings,
    database_url: str,
    *,
    primary: bool,
) -> web.BaseSite:
    """Where the app will listen. With more workers, the primary's socket is bound first
    and listens only once its workers (started now, stopped with `stack`) listen too."""
    if not (primary and settings.workers > 1):
        reuse_port = settings.workers > 1 or None
        return web.TCPSite(runner, settings.host, settings.port, reuse_port=reuse_port)
    sock = reusable_socket(settings.host, settings.port)
    stack.callback(sock.close)
    listen = f"{settings.host}:{sock.getsockname()[1]}"
    await stack.enter_async_context(http_workers(settings, database_url, listen))
    return web.SockSite(runner, sock)


def _url(address: tuple[str, int] | tuple[str, int, int, int]) -> str:
    host, port = address[0], address[1]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


async def serve(
    settings: Settings,
    database_url: str,
    *,
    on_ready: Callable[[str], object] | None = None,
    app_factory: AppFactory = SERVING_APP,
    shutdown_timeout: float = SHUTDOWN_TIMEOUT,
    primary: bool = True,
) -> None:
    """Serve on settings.host:port until SIGINT or SIGTERM.

    Then it stops accepting connections, lets in-flight requests finish for up to
    `shutdown_timeout` seconds (cancelling the rest), and closes the database pool.
    `on_ready` is called with the URL actually listened on (port 0 picks one).
    Raises OSError when the address cannot be bound, asyncpg errors when the
    database cannot be reached; the pool is closed either way.

    Every process takes its share of the asynchronous read models' subscriptions. The
    `primary` one runs the HTTP workers when settings.workers > 1
    (service/http_workers.py); one that is not primary is such a worker, and also stops
    when its primary is gone.
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    pool = await create_pool(database_url, max_size=POOL_SIZE)
    try:
        store = kumo_store(pool)
        app = app_factory(settings, store)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=shutdown_timeout)
        await runner.setup()
        stack = contextlib.AsyncExitStack()
        try:
            site = await _site(stack, runner, settings, database_url, primary=primary)
            await site.start()
            await stack.enter_async_context(async_projections(store, database_url))
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, stop.set)
            url = _url(runner.addresses[0])
            if not primary:
                watch = asyncio.create_task(primary_gone())
                watch.add_done_callback(lambda _: stop.set())
                stack.callback(watch.cancel)
            heap.settle()
            log.info("serving on %s", url, extra={"url": url})
            if on_ready is not None:
                on_ready(url)
            await stop.wait()
            log.info("stopping: finishing in-flight requests", extra={"url": url})
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)
            await runner.cleanup()
            await stack.aclose()
    finally:
        await close_pool(pool)
    log.info("stopped")
