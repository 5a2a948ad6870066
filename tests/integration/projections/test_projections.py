"""Projections: inline read-your-writes, asynchronous, rebuild, and state as of a position."""

import asyncio
import random

import pytest

from events.postgres import PostgresEventStore
from events.subscription import SubscriptionRunner
from projections.inline import InlineProjections
from projections.runner import Replayed, SchemaExists, rebuild, replay_into, subscription_for
from tests.integration.projections.counters import SCHEMA, NoteCounts
from tests.sample_events import Noted, Renamed

ROWS = "SELECT * FROM {}rm_note_counts ORDER BY stream_id"


@pytest.fixture
async def model(store: PostgresEventStore) -> NoteCounts:
    await store.pool.execute(SCHEMA)
    return NoteCounts()


@pytest.fixture
def inline_store(store: PostgresEventStore, model: NoteCounts) -> PostgresEventStore:
    return PostgresEventStore(store.pool, inline=InlineProjections([model]))


async def rows(store: PostgresEventStore, schema: str = "") -> list[tuple[object, ...]]:
    return [tuple(r) for r in await store.pool.fetch(ROWS.format(schema))]


async def test_inline_projection_reads_its_own_writes(inline_store: PostgresEventStore) -> None:
    await inline_store.append("note-1", [Noted(n=2), Noted(n=3), Renamed(name="x")])
    assert await rows(inline_store) == [("note-1", 2, 5, "x", 3)]


async def test_inline_projection_failure_rolls_the_append_back(
    inline_store: PostgresEventStore,
) -> None:
    await inline_store.pool.execute("ALTER TABLE rm_note_counts ADD CHECK (total < 100)")
    with pytest.raises(Exception, match="check constraint"):
        await inline_store.append("note-1", [Noted(n=500)])
    assert await inline_store.head_position() == 0


@pytest.mark.slow
async def test_rebuild_under_live_appends_matches_the_live_model_row_for_row(
    inline_store: PostgresEventStore, model: NoteCounts
) -> None:
    async def write(w: int) -> None:
        for i in range(60):
            event = Noted(n=i) if random.random() < 0.8 else Renamed(name=f"{w}-{i}")
            await inline_store.append(f"note-{random.randrange(12)}", [event])

    writers = asyncio.gather(*(write(w) for w in range(6)))
    async with asyncio.timeout(30):  # some of the 360 events are in, most still to come
        while await inline_store.head_position() < 30:
            await asyncio.sleep(0.01)
    rebuilt_during = await rebuild(inline_store, model, inline=True)
    await writers
    live = await rows(inline_store)
    assert rebuilt_during > 0 and len(live) == 12

    await rebuild(inline_store, model, inline=True)
    assert await rows(inline_store) == live
    assert sum(r[1] for r in live) == await inline_store.pool.fetchval(  # type: ignore[misc]
        "SELECT count(*) FROM events WHERE type = 'Noted'"
    )


async def test_async_projection_follows_the_log_and_rebuilds(
    store: PostgresEventStore, model: NoteCounts, database_url: str
) -> None:
    subscription = subscription_for(model)
    for i in range(40):
        await store.append(f"note-{i % 4}", [Noted(n=i)])
    runner = SubscriptionRunner(store, database_url, subscription)
    task = asyncio.create_task(runner.run())
    try:
        async with asyncio.timeout(10):
            await runner.wait_until(await store.head_position())
        live = await rows(store)
        assert [r[1] for r in live] == [10, 10, 10, 10]
        assert await rebuild(store, model, inline=False) == 40
        assert await rows(store) == live
        result = await store.append("note-0", [Renamed(name="after")])
        async with asyncio.timeout(10):
            while (await rows(store))[0][3] != "after":
                await asyncio.sleep(0.05)
        assert result.last_position == 41
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_replay_into_a_scratch_schema_gives_the_model_as_of_a_position(
    inline_store: PostgresEventStore, model: NoteCounts
) -> None:
    await inline_store.append("note-1", [Noted(n=1), Noted(n=2)])
    then = await rows(inline_store)
    position = await inline_store.head_position()
    await inline_store.append("note-1", [Renamed(name="later"), Noted(n=10)])
    await inline_store.append("note-2", [Noted(n=7)])

    replayed = await replay_into(inline_store, [model], "as_of_then", until=position)
    assert replayed == Replayed(events=2, applied=2, rows={"rm_note_counts": 1})
    assert await rows(inline_store, "as_of_then.") == then
    assert len(await rows(inline_store)) == 2, "the live model is untouched"
    with pytest.raises(SchemaExists, match="already exists"):
        await replay_into(inline_store, [model], "as_of_then", until=position)

    later = await replay_into(inline_store, [model], "as_of_then", until=4, replace=True)
    assert later.events == 4 and len(await rows(inline_store, "as_of_then.")) == 1


async def test_replay_refuses_unsafe_schema_names_and_schemas_it_did_not_make(
    inline_store: PostgresEventStore, model: NoteCounts
) -> None:
    for name in ("x; DROP TABLE events", "public", "pg_temp_x", "Upper"):
        with pytest.raises(ValueError):
            await replay_into(inline_store, [model], name, until=1, replace=True)
    await inline_store.pool.execute("CREATE SCHEMA precious")
    with pytest.raises(SchemaExists, match="not a Kumo replay"):
        await replay_into(inline_store, [model], "precious", until=1, replace=True)
    assert await inline_store.pool.fetchval(
        "SELECT count(*) FROM pg_namespace WHERE nspname = 'precious'"
    )
