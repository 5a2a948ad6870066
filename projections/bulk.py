"""Rebuilding a read model stream by stream: its folds in memory, its rows by COPY.

A model whose rows each belong to one stream and follow that stream's pure fold
(`Evolve`, projections/rows.py — the same function its `apply` runs inside appends)
need not replay the log one SQL statement per event. `replay_folded` reads the events
the model handles ordered by stream and version, on one server-side cursor in batches
(binary, the store's columns), so each stream's events arrive together: its rows are
folded in memory and are final when the next stream begins. Final rows go to their
tables with COPY, `FLUSH` at a time. Memory holds one cursor batch, one stream's rows
and at most `FLUSH` finished rows, whatever the size of the log.

What such a model does besides its folded rows (image members, say) is its `side`: a
projection replayed after the rows are written, event by event in log order, which
must neither read nor write the folded tables (so writing them first changes nothing).
Models that are not `Folded` replay event by event (projections/runner.py).
"""

from collections import defaultdict
from collections.abc import Collection
from typing import Any, Protocol, runtime_checkable

import msgspec

from events.postgres import Connection, row_to_event
from events.types import Event, Metadata, RecordedEvent
from projections.projection import Projection
from projections.rows import Evolve, Row, encoded

FLUSH = 5000
"""Finished rows held before they are copied to their tables."""
PREFETCH = 5000
"""Events the cursor fetches per round trip."""
_HEADER = "position, stream_id, version, event_id, type, schema_version, recorded_at"
"""An event's columns but its metadata and data, in `row_to_event`'s order."""
_UNREAD = Event()
_NO_METADATA = Metadata()
"""The event and metadata of a header read without them."""


class FoldedTable(msgspec.Struct, frozen=True):
    """A table whose rows are owned one per stream and kept by the stream's fold."""

    table: str
    evolve: Evolve
    categories: frozenset[str] | None = None
    """The categories of the streams that own rows here; None for every stream."""
    json_columns: tuple[str, ...] = ()

    def owns(self, category: str) -> bool:
        return self.categories is None or category in self.categories


@runtime_checkable
class Folded(Projection, Protocol):
    """A projection whose tables `folds` keep, apart from what its `side` does."""

    folds: tuple[FoldedTable, ...]
    side: Projection | None
    reads_bodies: bool
    """Whether its folds read events' data and metadata. If not, a rebuild leaves them
    unread: the folds get each event with a bare `Event()` and empty `Metadata()`."""


def _header(row: Any) -> RecordedEvent:
    """An event read without its metadata and data."""
    position, stream_id, version, event_id, type_name, schema_version, recorded_at = row
    return RecordedEvent(
        position,
        stream_id,
        version,
        event_id,
        type_name,
        schema_version,
        recorded_at,
        _NO_METADATA,
        _UNREAD,
    )


class _Copier:
    """Final rows held by table and column list, copied once `FLUSH` are held."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._held: defaultdict[tuple[str, tuple[str, ...]], list[tuple[Any, ...]]]
        self._held = defaultdict(list)
        self._count = 0

    async def add(self, table: str, row: Row, json_columns: Collection[str]) -> None:
        columns = tuple(row)
        record = tuple(encoded(row[c], c in json_columns) for c in columns)
        self._held[table, columns].append(record)
        self._count += 1
        if self._count >= FLUSH:
            await self.flush()

    async def flush(self) -> None:
        for (table, columns), records in self._held.items():
            await self._conn.copy_records_to_table(table, records=records, columns=columns)
        self._held.clear()
        self._count = 0


async def replay_folded(conn: Connection, projection: Folded, until: int | None) -> int:
    """Fill the projection's folded tables (empty) from the events up to `until` (None:
    all), in the caller's transaction; the number of events it handles there. Its side
    is the caller's to replay.

    Raises what the folds or COPY raise (a row that breaks a constraint, say); the
    caller's transaction then fails as a whole.
    """
    where, params = ["true"], list[Any]()
    if until is not None:
        params.append(until)
        where.append(f"position <= ${len(params)}")
    if projection.types is not None:
        params.append(sorted(projection.types))
        where.append(f"type = ANY(${len(params)})")
    columns = f"{_HEADER}, metadata, data" if projection.reads_bodies else _HEADER
    decode = row_to_event if projection.reads_bodies else _header
    query = f"SELECT {columns} FROM events WHERE {' AND '.join(where)} ORDER BY stream_id, version"
    copier = _Copier(conn)
    stream: str | None = None
    rows: list[Row | None] = []
    folds: list[FoldedTable] = []
    read = 0
    async for record in conn.cursor(query, *params, prefetch=PREFETCH):
        event = decode(record)
        read += 1
        if event.stream_id != stream:
            await _finish(copier, folds, rows)
            stream = event.stream_id
            folds = [f for f in projection.folds if f.owns(event.category)]
            rows = [None] * len(folds)
        rows = [f.evolve(row, event) for f, row in zip(folds, rows, strict=True)]
    await _finish(copier, folds, rows)
    await copier.flush()
    return read


async def _finish(copier: _Copier, folds: list[FoldedTable], rows: list[Row | None]) -> None:
    """Hold a finished stream's rows (those its fold left present)."""
    for fold, row in zip(folds, rows, strict=True):
        if row is not None:
            await copier.add(fold.table, row, fold.json_columns)
