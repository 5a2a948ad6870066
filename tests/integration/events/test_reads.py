"""Reads: one stream from a version, the whole log from a position, by category and type."""

from events.postgres import PostgresEventStore
from tests.sample_events import Noted, Renamed


async def fill(store: PostgresEventStore) -> None:
    await store.append("note-1", [Noted(n=1), Noted(n=2)])
    await store.append("disk-1", [Renamed(name="a")])
    await store.append("note-2", [Noted(n=3), Renamed(name="b")])
    await store.append("note-1", [Noted(n=4)])


async def test_read_stream_from_version(store: PostgresEventStore) -> None:
    await fill(store)
    events = await store.read_stream("note-1", from_version=2)
    assert [(e.version, e.event) for e in events] == [(2, Noted(n=2)), (3, Noted(n=4))]
    assert await store.read_stream("note-none") == []


async def test_read_stream_until_a_position(store: PostgresEventStore) -> None:
    await fill(store)
    assert [e.version for e in await store.read_stream("note-1", until_position=4)] == [1, 2]


async def test_read_all_pages_by_position(store: PostgresEventStore) -> None:
    await fill(store)
    first = await store.read_all(0, limit=4)
    rest = await store.read_all(first[-1].position, limit=100)
    positions = [e.position for e in first + rest]
    assert positions == sorted(positions) and len(positions) == 6
    assert await store.head_position() == positions[-1]


async def test_read_all_by_category_and_type(store: PostgresEventStore) -> None:
    await fill(store)
    notes = await store.read_all(categories=["note"])
    assert {e.stream_id for e in notes} == {"note-1", "note-2"} and len(notes) == 5
    renames = await store.read_all(types=["Renamed"])
    assert [e.event for e in renames] == [Renamed(name="a"), Renamed(name="b")]
    both = await store.read_all(types=["Renamed"], categories=["disk"])
    assert [e.stream_id for e in both] == ["disk-1"]
    assert all(e.category == "note" for e in notes)


async def test_iter_all_streams_everything_in_batches(store: PostgresEventStore) -> None:
    for i in range(25):
        await store.append(f"note-{i}", [Noted(n=i)])
    seen = [e.event.n async for e in store.iter_all(batch_size=7)]  # type: ignore[attr-defined]
    assert seen == list(range(25))
    until = [e async for e in store.iter_all(until=10, batch_size=3)]
    assert [e.position for e in until] == list(range(1, 11))
