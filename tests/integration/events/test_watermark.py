"""The log's readers wait for open appends only: a long transaction that writes
something else (an asynchronous read model's batch, an operator's session) does not hold
back what they see, while an append still open does hold back the positions after it."""

import asyncio
from collections.abc import Sequence
from typing import Any

from events.follow import follow
from events.postgres import PostgresEventStore
from events.types import RecordedEvent
from tests.sample_events import Noted


class Paused:
    """An inline hook that keeps the append's transaction open until released."""

    types = None

    def __init__(self) -> None:
        self.inside = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, conn: Any, events: Sequence[RecordedEvent]) -> None:
        self.inside.set()
        await self.release.wait()


async def test_an_unrelated_open_transaction_does_not_delay_readers(
    store: PostgresEventStore,
) -> None:
    await store.append("note-0", [Noted(n=0)])
    async with store.pool.acquire() as other, other.transaction():
        await other.execute("CREATE TEMP TABLE scratch (n int)")
        await other.execute("INSERT INTO scratch VALUES (1)")
        assert await other.fetchval("SELECT pg_current_xact_id_if_assigned()") is not None
        appended = (await store.append("note-1", [Noted(n=1)])).events[-1]

        assert await store.head_position() == appended.position
        assert [e.position for e in await store.read_all(0)][-1] == appended.position
        live = follow(store, after=appended.position - 1, poll_interval=60.0)
        first = await asyncio.wait_for(anext(live), timeout=5)
        await live.aclose()
        assert first.position == appended.position


async def test_an_open_append_holds_back_the_positions_after_it(
    store: PostgresEventStore,
) -> None:
    paused = Paused()
    slow = PostgresEventStore(store.pool, inline=paused)
    held = asyncio.create_task(slow.append("note-slow", [Noted(n=1)]))
    await asyncio.wait_for(paused.inside.wait(), timeout=5)
    later = (await store.append("note-fast", [Noted(n=2)])).events[-1]

    assert await store.head_position() < later.position
    assert all(e.position < later.position for e in await store.read_all(0))

    paused.release.set()
    earlier = (await held).events[-1]
    assert earlier.position < later.position
    assert [e.position for e in await store.read_all(0)][-2:] == [earlier.position, later.position]
    assert await store.head_position() == later.position
