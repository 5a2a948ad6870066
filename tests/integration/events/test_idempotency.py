"""Invariant: repeating a command id returns the first result and writes nothing."""

import asyncio
import uuid

from events.postgres import PostgresEventStore
from tests.sample_events import Noted


async def test_repeated_command_returns_first_result(store: PostgresEventStore) -> None:
    command = uuid.uuid4()
    first = await store.append("note-1", [Noted(n=1), Noted(n=2)], command_id=command)
    again = await store.append("note-1", [Noted(n=99)], command_id=command)
    assert not first.replayed and again.replayed
    assert [e.position for e in again.events] == [e.position for e in first.events]
    assert [e.event for e in again.events] == [Noted(n=1), Noted(n=2)]
    assert again.events[0].metadata.command_id == command
    assert await store.pool.fetchval("SELECT count(*) FROM events") == 2


async def test_concurrent_repeats_write_once(store: PostgresEventStore) -> None:
    command = uuid.uuid4()
    results = await asyncio.gather(
        *(store.append(f"note-{i}", [Noted(n=i)], command_id=command) for i in range(8))
    )
    assert sum(not r.replayed for r in results) == 1
    assert len({r.events[0].event_id for r in results}) == 1
    assert await store.pool.fetchval("SELECT count(*) FROM events") == 1


async def test_different_commands_both_write(store: PostgresEventStore) -> None:
    await store.append("note-1", [Noted(n=1)], command_id=uuid.uuid4())
    await store.append("note-1", [Noted(n=2)], command_id=uuid.uuid4())
    assert await store.stream_version("note-1") == 2
