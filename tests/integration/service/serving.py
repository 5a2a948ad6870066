"""serve() in a task of the test's own loop, for the tests of the serving process."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from service.config import Settings
from service.server import AppFactory, serve

LIMIT = 60.0
"""Seconds any wait on the server may take, so a broken one fails fast."""


@contextlib.asynccontextmanager
async def served(
    settings: Settings, database_url: str, app_factory: AppFactory, **kwargs: Any
) -> AsyncIterator[tuple[str, "asyncio.Task[None]"]]:
    """serve() in a task; yields its URL and the task once ready (serve's error if it
    fails first). Cancels it if the test leaves it running."""
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    serving = serve(
        settings, database_url, on_ready=ready.set_result, app_factory=app_factory, **kwargs
    )
    task = asyncio.create_task(serving)
    try:
        async with asyncio.timeout(LIMIT):
            waiters: list[asyncio.Future[Any]] = [ready, task]
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            task.result()
        yield ready.result(), task
    finally:
        if not task.done():
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, LIMIT)
