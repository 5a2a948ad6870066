"""The log's hash chain, recomputed apart from the database to show tampering.

Each event's `hash` is SHA-256 over the hash of the previous event of its stream (32
zero bytes for version 1) and a canonical encoding of the event. The chain is per
stream, not global: `append_events` (migrations/0007_event_hash_chain.sql) already
holds each stream's lock and reads its previous version, so chaining there costs one
column read, while a global chain would make every append wait for the one before it
to commit. A per-stream chain shows an edited event and an event removed from the
middle of a stream; a stream whose tail was cut, or that was removed whole, is what
`kumo verify` (read models against the log; rm_streams knows every stream's version)
finds.

`verify_chain` recomputes every hash here, in Python, from the stored columns — not
with the database's own `event_hash` — and compares each with the stored one.
"""

import hashlib
import heapq
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from uuid import UUID

import msgspec

GENESIS = bytes(32)
"""The `previous` hash of a stream's first event."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_ROWS = (
    "SELECT position, stream_id, version, event_id, type, schema_version, recorded_at,"
    " metadata::text, data::text, hash FROM events ORDER BY stream_id, version"
)


def _field(value: str) -> str:
    return f"{len(value)}:{value}"


def event_hash(
    previous: bytes,
    position: int,
    stream_id: str,
    version: int,
    event_id: UUID,
    type_name: str,
    schema_version: int,
    recorded_at: datetime,
    metadata: str,
    data: str,
) -> bytes:
    """The hash of one event after `previous`, as migration 0007's `event_hash` defines it.

    `metadata` and `data` are the jsonb columns as Postgres prints them (`::text`).
    """
    micros = (recorded_at - _EPOCH) // _MICROSECOND
    fields = (
        str(position), stream_id, str(version), str(event_id), type_name, str(schema_version),
        str(micros), metadata, data,
    )  # fmt: skip
    return hashlib.sha256(previous + "".join(map(_field, fields)).encode()).digest()


class Break(msgspec.Struct, frozen=True):
    """An event whose stored hash is not what its content and its predecessor give."""

    position: int
    stream_id: str
    version: int
    reason: Literal["altered", "missing-before"]
    """`altered`: the event (or its stored hash) changed; `missing-before`: the stream's
    versions jump to this one, so the events between were removed."""
    expected_version: int

    def describe(self) -> str:
        """One plain line naming the event and what is wrong with it."""
        where = f"event at position {self.position} (stream {self.stream_id}, version "
        if self.reason == "missing-before":
            first, last = self.expected_version, self.version - 1
            missing = f"version {first} is" if first == last else f"versions {first} to {last} are"
            return f"{where}{self.version}): {missing} missing from the stream before it"
        return f"{where}{self.version}): its content or hash was changed after it was written"


class ChainReport(msgspec.Struct, frozen=True):
    """What a check of the whole chain found: the events and streams read, how many
    events do not match, and the earliest of them in log position order."""

    events: int
    streams: int
    broken: int
    first_breaks: tuple[Break, ...]

    @property
    def intact(self) -> bool:
        return self.broken == 0


Progress = Callable[[int, int], None]
"""Told the events checked so far and the total, now and then."""


async def verify_chain(
    conn: Any,
    *,
    progress: Progress | None = None,
    every: int = 100_000,
    keep: int = 10,
    prefetch: int = 2000,
) -> ChainReport:
    """Recompute the hash of every event, stream by stream, with flat memory.

    Runs in one read-only repeatable-read transaction on `conn` (a consistent
    snapshot), streaming rows through a cursor in (stream, version) order, so only
    the previous event of the current stream is held, and of the breaks only the
    `keep` earliest. Each event is checked against its predecessor's *stored* hash,
    so one altered event breaks only itself (and its successor, if its stored hash
    was rewritten to match the new content).
    """
    earliest: list[tuple[int, Break]] = []  # a max-heap by position, as (-position, break)
    events = streams = broken = 0
    stream: str | None = None
    previous, last_version = GENESIS, 0
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        total: int = await conn.fetchval("SELECT count(*) FROM events")
        async for row in conn.cursor(_ROWS, prefetch=prefetch):
            position, stream_id, version = row[0], row[1], row[2]
            if stream_id != stream:
                stream, previous, last_version = stream_id, GENESIS, 0
                streams += 1
            found: Break | None = None
            if version != last_version + 1:
                found = Break(position, stream_id, version, "missing-before", last_version + 1)
            elif event_hash(previous, *row[:9]) != row[9]:
                found = Break(position, stream_id, version, "altered", version)
            if found is not None:
                broken += 1
                heapq.heappush(earliest, (-position, found))
                if len(earliest) > keep:
                    heapq.heappop(earliest)
            previous, last_version = row[9], version
            events += 1
            if progress is not None and events % every == 0:
                progress(events, total)
    first = tuple(b for _, b in sorted(earliest, key=lambda item: -item[0]))
    return ChainReport(events, streams, broken, first)
