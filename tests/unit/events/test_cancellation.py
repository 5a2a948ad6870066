"""A retry loop stops when cancelled, even when what it cancelled raises another error
in the CancelledError's place."""

import asyncio

from events.cancellation import being_cancelled


async def retrying(attempts: list[int]) -> None:
    """Retries on any error, like Kumo's background loops; its work's cleanup fails."""
    while True:
        try:
            try:
                attempts.append(1)
                await asyncio.sleep(3600)
            finally:
                raise RuntimeError("pool is closing")  # replaces the CancelledError
        except Exception as error:
            if being_cancelled():
                raise asyncio.CancelledError from error
        await asyncio.sleep(0)


async def test_a_cancelled_retry_loop_ends_as_cancelled() -> None:
    attempts: list[int] = []
    task = asyncio.create_task(retrying(attempts))
    await asyncio.sleep(0.01)
    task.cancel()
    async with asyncio.timeout(2):
        await asyncio.wait([task])
    assert task.cancelled() and attempts == [1]


async def test_nothing_is_being_cancelled_at_first() -> None:
    assert not being_cancelled()
