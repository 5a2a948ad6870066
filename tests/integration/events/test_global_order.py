"""Invariant: a reader of "everything after P" sees every committed event exactly once,
in position order, while many writers commit out of position order."""

import asyncio
import random
import time
from collections.abc import Sequence
from typing import Any

import pytest

from events.postgres import PostgresEventStore
from events.types import RecordedEvent
from tests.sample_events import Noted

WRITERS = 10
SECONDS = 3.0
EACH = 120
"""Events each writer appends at least, however slow the machine: 10 x 120 > 1,000."""


class Linger:
    """An inline hook that keeps the transaction open a random while after its
    positions were taken, so that later positions often commit first."""

    types = None

    async def __call__(self, conn: Any, events: Sequence[RecordedEvent]) -> None:
        await asyncio.sleep(random.random() * 0.004)


@pytest.mark.slow
async def test_reader_sees_every_event_once_in_order_under_concurrent_writers(
    store: PostgresEventStore,
) -> None:
    writer_store = PostgresEventStore(store.pool, inline=Linger())
    deadline = time.monotonic() + SECONDS
    stop = asyncio.Event()

    async def writer(w: int) -> int:
        n = 0
        while time.monotonic() < deadline or n < EACH:
            size = random.choice((1, 1, 1, 3))
            await writer_store.append(f"note-{w}-{n % 7}", [Noted(n=n)] * size)
            n += size
        return n

    async def reader() -> list[int]:
        seen: list[int] = []
        after = 0
        while not (stop.is_set() and after == await store.head_position()):
            batch = await store.read_all(after, limit=300)
            for event in batch:
                assert event.position > after, "out of order or repeated"
                after = event.position
                seen.append(event.position)
            if not batch:
                await asyncio.sleep(0.001)
        return seen

    async def naive_reader() -> list[int]:
        """What a plain `position > P` reader sees: it skips late commits."""
        seen: list[int] = []
        after = 0
        while not stop.is_set():
            rows = await store.pool.fetch(
                "SELECT position FROM events WHERE position > $1 ORDER BY position LIMIT 300",
                after,
            )
            seen += [r[0] for r in rows]
            after = seen[-1] if seen else 0
            await asyncio.sleep(0.001)
        return seen

    reading = asyncio.gather(reader(), naive_reader())
    written = sum(await asyncio.gather(*(writer(w) for w in range(WRITERS))))
    stop.set()
    seen, naive = await asyncio.wait_for(reading, 30)

    committed = [r[0] for r in await store.pool.fetch("SELECT position FROM events ORDER BY 1")]
    assert len(committed) == written > 1000
    assert seen == committed, "the reader missed or repeated events"
    assert len(set(naive)) < len(committed), "the writers never committed out of order"
