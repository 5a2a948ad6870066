"""Rebuilding a read model without replaying it event by event: folds in memory and
COPY, or set-based SQL over the log.

A model whose rows each belong to one stream (or several rows of one table to one
stream, such as a server's instance actions) and follow that stream's pure fold
(`Evolve`, projections/rows.py: the function its `apply` runs inside appends, or one
written for rebuilds and tested to give the rows `apply` writes) need not replay the
log one SQL statement per event. `replay_folded` reads the events of the streams it
folds, ordered by category (in the order the folds name them: rows other tables refer
to come first), stream and version, on one server-side cursor in batches, so each
stream's events arrive together: its rows are folded in memory and are final when the
next stream begins. Final rows go to their tables with COPY, `FLUSH` at a time. Memory
holds one cursor batch, one stream's rows and at most `FLUSH` finished rows, whatever
the size of the log.

What such a model does besides its folded rows is its `side`, rebuilt once the rows
are written: a projection replayed event by event in log order (image members, say),
which must neither read nor write the folded tables; `Statements` that set columns
from sums over the finished rows or the log (counters); or several of these (`Sides`,
each rebuilt its own way; `Subset` replays only some of a projection's event types).

A model whose rows need no fold at all, or none in Python, is `Rebuilt`: it fills its
empty tables itself, for instance by one set-based statement over the log (rm_streams:
a row per stream, from its first and last events). Its result must be the rows its
`apply` gives, event by event; tests compare the two for each model
(tests/integration/projections). Models that are neither replay event by event
(projections/runner.py). The tables filled in bulk get their non-unique indexes built
once the rows are in (`indexes_built_after`; a `Rebuilt` model's tables their unique ones
too), and a model's foreign keys among its own
tables are checked once it is full (`foreign_keys_checked_after`).
"""

import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Sequence
from typing import Any, Protocol, runtime_checkable

import msgspec

from events.postgres import Connection, row_to_event
from events.types import Event, Metadata, RecordedEvent
from projections.projection import Projection, handles
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
    rows_of: Callable[[Row], Iterable[Row]] | None = None
    """The rows of a stream's final state when a stream owns several here (None: the
    state is its one row)."""

    def owns(self, category: str) -> bool:
        return self.categories is None or category in self.categories

    def rows(self, state: Row | None) -> Iterable[Row]:
        """The rows a stream's final state holds."""
        if state is None:
            return ()
        return (state,) if self.rows_of is None else self.rows_of(state)


@runtime_checkable
class Folded(Projection, Protocol):
    """A projection whose tables `folds` keep, apart from what its `side` does."""

    folds: tuple[FoldedTable, ...]
    side: Projection | None
    reads_bodies: bool
    """Whether its folds read events' data and metadata. If not, a rebuild leaves them
    unread: the folds get each event with a bare `Event()` and empty `Metadata()`."""


@runtime_checkable
class Rebuilt(Projection, Protocol):
    """A projection that rebuilds its tables by its own means rather than event by event."""

    async def rebuild_rows(self, conn: Connection, until: int | None) -> int:
        """Fill the projection's (empty) tables from the events up to `until` (None: all),
        in the caller's transaction, without the gap-safe condition; the number of events
        it read. The tables' indexes, unique ones and primary keys included, are built
        once it returns: its statements may not rely on them (no ON CONFLICT)."""
        ...


class Sides:
    """Several projections as one: `apply` runs each that handles the event, in order;
    a rebuild rebuilds each in turn, its own way (projections/runner.py)."""

    def __init__(self, name: str, *parts: Projection) -> None:
        self.name = name
        self.parts = parts
        self.tables = tuple(t for p in parts for t in p.tables)
        wanted = [p.types for p in parts]
        self.types: frozenset[str] | None = (
            None if None in wanted else frozenset().union(*filter(None, wanted))
        )

    async def apply(self, conn: Any, event: RecordedEvent) -> None:
        for part in self.parts:
            if handles(part, event):
                await part.apply(conn, event)


class Statements:
    """A side that reads no event one by one: SQL statements a rebuild runs once the
    folded rows are written, such as counters summed over those rows or over the log.
    Each may hold `{until}`, the condition on `position` (its parameter is $1)."""

    tables: tuple[str, ...] = ()
    types: frozenset[str] | None = frozenset()

    def __init__(self, name: str, *statements: str) -> None:
        self.name = name
        self.statements = statements

    async def apply(self, conn: Any, event: RecordedEvent) -> None:
        """Nothing: it handles no event (its model's `apply` keeps the same columns)."""

    async def rebuild_rows(self, conn: Connection, until: int | None) -> int:
        where, params = until_clause(until)
        for statement in self.statements:
            if "{until}" in statement:
                await conn.execute(statement.format(until=where), *params)
            else:
                await conn.execute(statement)
        return 0


class Subset:
    """The part of a projection that handles only some of its event types."""

    def __init__(self, projection: Projection, types: Collection[type[Event]]) -> None:
        self.name = f"{projection.name}_subset"
        self.tables = projection.tables
        self.types: frozenset[str] | None = frozenset(t.type_name() for t in types)
        self._projection = projection

    async def apply(self, conn: Any, event: RecordedEvent) -> None:
        await self._projection.apply(conn, event)


_INDEXES = """
SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid), i.indrelid::regclass::text,
       quote_ident(c.conname), pg_get_constraintdef(c.oid)
  FROM pg_index i LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.contype IN ('p', 'u')
 WHERE i.indrelid = ANY($1::regclass[]) AND (NOT i.indisunique OR $2)
   AND NOT EXISTS (SELECT FROM pg_constraint x
                    WHERE x.conindid = i.indexrelid AND x.contype NOT IN ('p', 'u'))
"""
"""The tables' indexes, and the primary-key or unique constraint each is for (NULLs when
none), but those another constraint uses (a foreign key's referenced key, say)."""


@contextlib.asynccontextmanager
async def indexes_built_after(
    conn: Connection, tables: Sequence[str], *, unique: bool = False
) -> AsyncIterator[None]:
    """Drop the tables' non-unique indexes (and with `unique`, their unique ones and primary
    keys too) for the block and build them again after it, in the caller's transaction:
    filling a table and then indexing it costs less than keeping its indexes row by row.
    Unique indexes stay unless `unique` (inserts may rely on them: ON CONFLICT); a row
    that breaks one built after fails the transaction."""
    indexes = await conn.fetch(_INDEXES, list(tables), unique)
    for index, _, table, constraint, _ in indexes:
        if constraint is None:
            await conn.execute(f"DROP INDEX {index}")
        else:
            await conn.execute(f"ALTER TABLE {table} DROP CONSTRAINT {constraint}")
    yield
    for _, definition, table, constraint, constraint_definition in indexes:
        if constraint is None:
            await conn.execute(definition)
        else:
            await conn.execute(
                f"ALTER TABLE {table} ADD CONSTRAINT {constraint} {constraint_definition}"
            )


_OWN_FOREIGN_KEYS = """
SELECT conrelid::regclass::text, quote_ident(conname), pg_get_constraintdef(oid)
  FROM pg_constraint
 WHERE contype = 'f' AND conrelid = ANY($1::regclass[]) AND confrelid = ANY($1::regclass[])
   AND confdeltype IN ('a', 'r') AND confupdtype IN ('a', 'r') AND NOT condeferrable
"""


@contextlib.asynccontextmanager
async def foreign_keys_checked_after(
    conn: Connection, tables: Sequence[str]
) -> AsyncIterator[None]:
    """Drop the foreign keys between the tables (those that only forbid, none that cascade)
    for the block and add them again after it, in the caller's transaction: adding one
    checks every row in one join, where keeping it checks each inserted row on its own
    (a model's 956,000 usage slots: 8 s of the server's CPU, against 0.2 s). A row that
    breaks one fails the transaction when it is added again."""
    keys = await conn.fetch(_OWN_FOREIGN_KEYS, list(tables))
    for table, name, _ in keys:
        await conn.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
    yield
    for table, name, definition in keys:
        await conn.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")


def until_clause(until: int | None, first: int = 1) -> tuple[str, list[int]]:
    """The condition `position <= $first` and its parameter (none when `until` is None)."""
    return ("true", []) if until is None else (f"position <= ${first}", [until])


async def logged(
    conn: Connection, until: int | None, types: Sequence[str] | None
) -> AsyncIterator[RecordedEvent]:
    """The events of `types` (None: every type) up to `until` (None: all), in log order,
    without the gap-safe condition, on one server-side cursor in the caller's transaction.

    One statement, planned for all its rows: a side's types are found through the log's
    type index and sorted, where pages of `scan` (a `LIMIT` after each position) may be
    planned to walk the log in position order past every other event (identity's two
    passes, image members and Swift accounts over a million events: ~2 s of the
    server's CPU).
    """
    where, bound = until_clause(until)
    params: list[Any] = [*bound]
    if types is not None:
        params.append(list(types))
        where += f" AND type = ANY(${len(params)})"
    query = f"SELECT {_HEADER}, metadata, data FROM events WHERE {where} ORDER BY position"
    async for row in conn.cursor(query, *params, prefetch=PREFETCH):
        yield row_to_event(row)


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
        if json_columns:
            record = tuple(encoded(v, c in json_columns) for c, v in row.items())
        else:
            record = tuple(row.values())
        self._held[table, tuple(row)].append(record)
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
    order = "stream_id, version"
    categories = [f.categories for f in projection.folds]
    if None not in categories:
        # Events of other streams change none of its rows; categories go in the order the
        # folds name them, so that rows another table refers to are copied first.
        params.append(list(dict.fromkeys(c for named in categories for c in sorted(named or ()))))
        where.append(f"category = ANY(${len(params)})")
        order = f"array_position(${len(params)}, category), {order}"
    columns = f"{_HEADER}, metadata, data" if projection.reads_bodies else _HEADER
    decode = row_to_event if projection.reads_bodies else _header
    query = f"SELECT {columns} FROM events WHERE {' AND '.join(where)} ORDER BY {order}"
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
    """Hold a finished stream's rows (those its folds left present)."""
    for fold, state in zip(folds, rows, strict=True):
        for row in fold.rows(state):
            await copier.add(fold.table, row, fold.json_columns)
