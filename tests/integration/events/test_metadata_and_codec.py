"""Invariants: metadata on every event; msgspec events encoded once; old versions upcast."""

import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec

from events.codec import upcaster
from events.postgres import PostgresEventStore
from events.types import Actor, Event, Metadata
from tests.sample_events import Noted


class FixedClock:
    def now(self) -> datetime:
        return datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


class CountingIds:
    def __init__(self) -> None:
        self.n = 0

    def new_id(self) -> uuid.UUID:
        self.n += 1
        return uuid.UUID(int=self.n)


async def test_metadata_round_trips_with_time_and_schema_version(store: PostgresEventStore) -> None:
    store = PostgresEventStore(store.pool, clock=FixedClock(), ids=CountingIds())
    metadata = Metadata(
        actor=Actor(user_id="u1", project_id="p1", domain_id="default", roles=("member", "reader")),
        request_id="req-1",
        causation_id="evt-0",
        correlation_id="req-1",
    )
    await store.append("note-1", [Noted(n=1, text="hi")], metadata=metadata)
    [event] = await store.read_stream("note-1")
    assert event.metadata == metadata
    assert event.recorded_at == FixedClock().now()
    assert event.event_id == uuid.UUID(int=1)
    assert (event.type, event.schema_version) == ("Noted", 1)
    assert event.event == Noted(n=1, text="hi")
    stored = await store.pool.fetchrow("SELECT data, metadata FROM events")
    assert msgspec.json.decode(stored["data"]) == {"event_type": "Noted", "n": 1, "text": "hi"}
    assert msgspec.json.decode(stored["metadata"])["actor"]["roles"] == ["member", "reader"]


class Resized(Event, frozen=True):
    """Version 2 stores a size in MiB; version 1 stored it in GiB under another name."""

    schema_version = 2
    size_mib: int


@upcaster("Resized", 1)
def _resized_v1(data: dict[str, Any]) -> dict[str, Any]:
    return {"size_mib": data["size_gib"] * 1024}


async def test_old_event_version_is_upcast_on_read(store: PostgresEventStore) -> None:
    old = b'{"event_type":"Resized","size_gib":2}'
    await store.pool.fetch(
        "SELECT * FROM append_events($1, $2, $3, $4, $5, $6, $7, $8, now(), NULL)",
        ["disk-1"], [None], [1], [uuid.uuid4()], ["Resized"], [1], [old], [b"{}"],
    )  # fmt: skip
    await store.append("disk-1", [Resized(size_mib=512)])
    events = await store.read_stream("disk-1")
    assert [e.event for e in events] == [Resized(size_mib=2048), Resized(size_mib=512)]
    assert [e.schema_version for e in events] == [1, 2]
