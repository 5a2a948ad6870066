"""Notifications name the event types they announce, and a cursor filtered by type sleeps
through the others."""

import asyncio
from typing import Any, cast

from events.cursor import LogCursor
from events.partition import partition_of
from events.postgres import MAX_NOTIFIED_TYPES, PostgresEventStore, notification, notified


def test_a_notification_carries_its_position_and_types() -> None:
    assert notified(notification(42, {"ServerStopped", "AuditRecorded"})) == (
        42,
        frozenset({"ServerStopped", "AuditRecorded"}),
    )


def test_a_notification_without_types_or_with_too_many_means_any_type() -> None:
    many = {f"Type{n:05}" for n in range(MAX_NOTIFIED_TYPES // 5)}

    assert notified(notification(7, set())) == (7, None)
    assert notification(7, many) == "7"
    assert notified("7") == (7, None)


async def woken(
    types: list[str] | None,
    position: int,
    news: frozenset[str] | None,
    *,
    partition: tuple[int, int] | None = None,
    streams: frozenset[str] | None = None,
) -> bool:
    """Whether a cursor reading `types` (in `partition`), told of `news` up to `position`
    (in `streams`), stops waiting at once (its poll interval is far longer than the test
    waits)."""
    # The store is only used when the cursor reads.
    store = cast(PostgresEventStore, cast(Any, None))
    cursor = LogCursor(store, 0, types=types, partition=partition, poll_interval=60)
    cursor.notify(position, news, streams)
    try:
        async with asyncio.timeout(0.05):
            await cursor.wait()
    except TimeoutError:
        return False
    return True


async def test_a_typed_cursor_wakes_only_for_its_types_or_an_untyped_notification() -> None:
    assert not await woken(["Noted"], 5, frozenset({"Renamed"}))
    assert await woken(["Noted"], 6, frozenset({"Renamed", "Noted"}))
    assert await woken(["Noted"], 8, None)
    assert await woken(None, 9, frozenset({"Renamed"}))


async def test_a_partitioned_cursor_wakes_only_for_streams_of_its_partition() -> None:
    streams = [f"note-{n}" for n in range(40)]
    theirs = {n: frozenset(s for s in streams if partition_of(s, 4) == n) for n in range(4)}
    assert all(theirs.values())
    for number in range(4):
        mine = (4, number)
        other = theirs[(number + 1) % 4]
        assert await woken(None, 1, None, partition=mine, streams=theirs[number] | other)
        assert not await woken(None, 1, None, partition=mine, streams=other)
        assert await woken(None, 1, None, partition=mine)  # streams not known: any
