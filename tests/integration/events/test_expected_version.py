"""Invariant: per-stream optimistic concurrency with "any", "no stream" and exact versions."""

import asyncio

import asyncpg
import pytest

from events.errors import WrongExpectedVersion
from events.postgres import PostgresEventStore
from events.store import ANY, NO_STREAM, StreamAppend
from tests.sample_events import Noted, Renamed


async def test_exact_version_appends_and_mismatch_raises(store: PostgresEventStore) -> None:
    first = await store.append("note-a", [Noted(n=1), Noted(n=2)], NO_STREAM)
    assert [e.version for e in first.events] == [1, 2]
    second = await store.append("note-a", [Noted(n=3)], 2)
    assert second.version_of("note-a") == 3
    with pytest.raises(WrongExpectedVersion) as conflict:
        await store.append("note-a", [Noted(n=4)], 2)
    assert (conflict.value.stream_id, conflict.value.expected, conflict.value.actual) == (
        "note-a",
        2,
        3,
    )
    assert await store.stream_version("note-a") == 3


async def test_no_stream_refuses_an_existing_stream(store: PostgresEventStore) -> None:
    await store.append("note-b", [Noted(n=1)], NO_STREAM)
    with pytest.raises(WrongExpectedVersion) as conflict:
        await store.append("note-b", [Noted(n=2)], NO_STREAM)
    assert conflict.value.actual == 1


async def test_any_appends_whatever_the_version(store: PostgresEventStore) -> None:
    await store.append("note-c", [Noted(n=1)], ANY)
    result = await store.append("note-c", [Noted(n=2)], ANY)
    assert result.version_of("note-c") == 2


async def test_exact_version_on_a_missing_stream_conflicts(store: PostgresEventStore) -> None:
    with pytest.raises(WrongExpectedVersion):
        await store.append("note-missing", [Noted(n=1)], 5)
    assert await store.stream_version("note-missing") == 0


async def test_concurrent_writers_with_one_expectation_have_one_winner(
    store: PostgresEventStore,
) -> None:
    await store.append("note-d", [Noted(n=0)], NO_STREAM)
    outcomes = await asyncio.gather(
        *(store.append("note-d", [Noted(n=i)], 1) for i in range(10)), return_exceptions=True
    )
    winners = [o for o in outcomes if not isinstance(o, BaseException)]
    losers = [o for o in outcomes if isinstance(o, WrongExpectedVersion)]
    assert len(winners) == 1 and len(losers) == 9
    assert await store.stream_version("note-d") == 2


async def test_concurrent_any_appends_all_land_with_distinct_versions(
    store: PostgresEventStore,
) -> None:
    await asyncio.gather(*(store.append("note-e", [Noted(n=i)]) for i in range(20)))
    versions = [e.version for e in await store.read_stream("note-e")]
    assert versions == list(range(1, 21))


async def test_multi_stream_append_is_all_or_nothing(store: PostgresEventStore) -> None:
    await store.append("note-f", [Noted(n=1)])
    with pytest.raises(WrongExpectedVersion):
        await store.append_streams(
            [
                StreamAppend("note-g", [Renamed(name="g")], NO_STREAM),
                StreamAppend("note-f", [Noted(n=2)], NO_STREAM),
            ]
        )
    assert await store.stream_version("note-g") == 0
    ok = await store.append_streams(
        [
            StreamAppend("note-g", [Renamed(name="g")], NO_STREAM),
            StreamAppend("note-f", [Noted(n=2)], 1),
        ]
    )
    assert ok.version_of("note-f") == 2 and ok.version_of("note-g") == 1


async def test_stream_and_version_are_unique_in_the_table(store: PostgresEventStore) -> None:
    await store.append("note-h", [Noted(n=1)])
    with pytest.raises(asyncpg.UniqueViolationError):
        await store.pool.execute(
            "INSERT INTO events (position, stream_id, version, event_id, type, schema_version,"
            " data, metadata, recorded_at, hash) SELECT position + 1000, stream_id, version,"
            " gen_random_uuid(), type, schema_version, data, metadata, recorded_at, hash"
            " FROM events"
        )
