"""Blocking work in a thread of its own, awaited from the event loop: for transfers that
last as long as a client takes (a download's sendfile, an upload read from its socket),
which must not hold one of the default executor's few threads."""

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


async def in_own_thread(fn: Callable[[], T], *, stop: Callable[[], None], name: str) -> T:
    """`fn()` in a new thread named `name`; its result, or what it raised. If the awaiting
    task is cancelled, `stop()` (which must make `fn` end soon), then CancelledError once
    `fn` has ended (however often the task is cancelled meanwhile), so that what `fn` uses
    is never released under it."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()

    def run() -> None:
        try:
            outcome: tuple[T] | BaseException = (fn(),)
        except BaseException as error:  # handed to the awaiting task
            outcome = error
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            loop.call_soon_threadsafe(_settle, done, outcome)

    threading.Thread(target=run, name=name, daemon=True).start()
    try:
        return await asyncio.shield(done)
    except asyncio.CancelledError:
        stop()
        while not done.done():  # a second cancellation does not end the wait either
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait([done])
        done.exception()  # retrieved: the cancellation is what the caller gets
        raise


def _settle(done: "asyncio.Future[T]", outcome: "tuple[T] | BaseException") -> None:
    if isinstance(outcome, BaseException):
        done.set_exception(outcome)
    else:
        done.set_result(outcome[0])
