"""The event store on Postgres, through asyncpg.

The table, its append-only guard and the `append_events` function are in
migrations/0001_event_store.sql; that file explains how the global order stays
gap-safe. Driver errors become the typed errors of events/errors.py here.
"""

import asyncio
import contextlib
import functools
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, NamedTuple, Protocol, TypeAlias

import asyncpg

from events.clock import Clock, IdSource, RandomIds, SystemClock
from events.codec import decode_event, decode_metadata, encode
from events.errors import AppendNotFirstWrite, WrongExpectedVersion
from events.store import ANY, AppendResult, ExpectedVersion, StreamAppend
from events.types import Event, Metadata, RecordedEvent

Connection: TypeAlias = (
    "asyncpg.Connection[asyncpg.Record] | asyncpg.pool.PoolConnectionProxy[asyncpg.Record]"
)
Pool: TypeAlias = "asyncpg.Pool[asyncpg.Record]"


class InlineHook(Protocol):
    """Read models updated in the append's own transaction."""

    types: frozenset[str] | None
    """The event types it applies (None: all); other appends skip the transaction."""

    async def __call__(self, conn: Any, events: Sequence[RecordedEvent]) -> None:
        """Apply the appended events with the append's connection, before commit."""
        ...


class Fused(NamedTuple):
    """An append and its inline read-model writes in one statement: one round trip, its
    own implicit transaction, instead of BEGIN, the append, the inline writes, COMMIT.

    `function` is a server-side function taking append_events' ten arguments, then
    `args`; it calls append_events before it writes anything and returns its rows.
    `types` are the event types whose inline writes, in every inline read model, it
    makes: the store uses it only for appends whose other events no inline model
    handles, and the inline hook then does not run. Its own errors reach the caller as
    the driver raised them."""

    function: str
    args: tuple[Any, ...]
    types: frozenset[str]


NOTIFY_CHANNEL = "kumo_events"
MAX_NOTIFIED_TYPES = 4000
"""Characters of event types a notification carries at most; past that it names none."""
log = logging.getLogger("kumo.events")

_COLUMNS = (
    "position, stream_id, version, event_id, type, schema_version, recorded_at, metadata, data"
)
VISIBLE = "transaction_id < pg_snapshot_xmin(pg_current_snapshot())"
"""The strictest condition of gap-safe reads: only events no running transaction can
precede. Readers of the log use the appenders' watermark instead (`watermark`)."""
_WATERMARK = """
WITH locks AS MATERIALIZED (
    SELECT locktype, virtualtransaction, transactionid FROM pg_locks
     WHERE (locktype = 'advisory' AND classid = 4802 AND objsubid = 2
            AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))
        OR (locktype = 'transactionid' AND mode = 'ExclusiveLock')
)
SELECT CASE WHEN current_setting('transaction_isolation') <> 'read committed'
            THEN pg_snapshot_xmin(pg_current_snapshot())
            ELSE coalesce(min(x), pg_snapshot_xmax(pg_current_snapshot())) END
  FROM pg_snapshot_xip(pg_current_snapshot()) AS x
 WHERE xid(x) IN (SELECT t.transactionid FROM locks t JOIN locks a USING (virtualtransaction)
                   WHERE t.locktype = 'transactionid' AND a.locktype = 'advisory')"""


async def watermark(conn: Connection) -> int:
    """The transaction id below which a later statement on `conn` may read the log
    gap-safely: the oldest running transaction that appends (or may append) events.

    Transactions that only write read models do not hold readers back. Every append
    takes its stream locks (advisory 4802, migrations/0001) before its transaction id,
    keeps them to the end, and takes its id and positions under the ordering lock, so
    positions grow with ids. Events read by a later statement (a later snapshot) below
    this mark can have no missing predecessor: a lower position belongs to a lower id,
    whose transaction held its stream lock when this ran (and bounds the mark), or had
    ended (and is visible later). The locks and this statement's snapshot must come
    before the read's snapshot, hence two statements; inside a repeatable-read
    transaction (one snapshot) the mark is the snapshot's xmin, as for `VISIBLE`.
    """
    mark: int = await conn.fetchval(_WATERMARK)
    return mark


@functools.cache
def _call(function: str, arguments: int) -> str:
    """SQL calling a set-returning function (a name from code) with $1..$n."""
    return f"SELECT * FROM {function}({', '.join(f'${i}' for i in range(1, arguments + 1))})"


_APPEND = _call("append_events", 10)


async def init_connection(conn: Any) -> None:
    """Make jsonb travel as raw JSON bytes, so events are encoded and decoded once."""
    await conn.set_type_codec(
        "jsonb",
        schema="pg_catalog",
        encoder=lambda value: b"\x01" + value,
        decoder=lambda value: value[1:],
        format="binary",
    )


class LeanResetConnection(asyncpg.Connection):
    """A pooled connection that goes back to its pool without a round trip, unless Kumo
    changed its session state.

    asyncpg resets every connection it takes back with one statement (advisory locks,
    LISTEN, settings, cursors): a round trip per release, a sixth of an API process's
    time in a profile of port creation. Kumo leaves session state behind in two places
    only: an append whose statement did not complete (it may still hold the ordering
    lock of migrations/0001) and a connection held for LISTEN and session locks
    (`dedicated_connection`). Both call `session_changed`, and that connection's next
    release runs asyncpg's full reset. An open transaction is always rolled back.
    """

    _session_changed = False

    def mark_session_changed(self) -> None:
        self._session_changed = True

    def get_reset_query(self) -> str:
        if not self._session_changed:
            return ""
        self._session_changed = False
        query: str = super().get_reset_query()
        return query


def session_changed(conn: Any) -> None:
    """Have `conn` (a pool's connection or its proxy) fully reset when it is released."""
    mark = getattr(conn, "mark_session_changed", None)
    if mark is not None:
        mark()


async def create_pool(dsn: str, *, min_size: int = 2, max_size: int = 10, **kwargs: Any) -> Pool:
    """A connection pool whose connections speak the event store's codecs and skip the
    reset round trip on release (see LeanResetConnection)."""
    pool: Pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=init_connection,
        connection_class=LeanResetConnection,
        **kwargs,
    )
    return pool


POOL_CLOSE_GRACE = 10.0
"""Seconds a pool waits at close for its acquired connections to come back."""


async def close_pool(pool: Pool, grace: float = POOL_CLOSE_GRACE) -> None:
    """Close `pool` gracefully, but within `grace` seconds: asyncpg's close waits for every
    acquired connection with no bound, and one held by a task that cannot finish (a
    cancel the server never acknowledged) would hang a shutdown for ever. Past `grace`
    the pool is terminated, and the log says so."""
    held = pool.get_size() - pool.get_idle_size()
    try:
        async with asyncio.timeout(grace):
            await pool.close()
    except TimeoutError:  # close() was cancelled, which terminated the pool
        log.warning(
            "connections still held after %g s; the pool was terminated",
            grace,
            extra={"held_at_close": held, "grace_s": grace},
        )


def row_to_event(row: Any, metadata: Metadata | None = None) -> RecordedEvent:
    """A recorded event from a row selected with the store's column list (its metadata
    `metadata` when given, e.g. the part of it a reader selected, else the row's)."""
    return RecordedEvent(
        position=row[0],
        stream_id=row[1],
        version=row[2],
        event_id=row[3],
        type=row[4],
        schema_version=row[5],
        recorded_at=row[6],
        metadata=decode_metadata(row[7]) if metadata is None else metadata,
        event=decode_event(row[4], row[5], row[8]),
    )


async def first_events(db: Any, stream_ids: Sequence[str]) -> list[RecordedEvent]:
    """The first event of each of the streams that exist, read in one query on `db` (a
    pool or a connection)."""
    rows = await db.fetch(
        f"SELECT {_COLUMNS} FROM events WHERE stream_id = ANY($1::text[]) AND version = 1",
        list(stream_ids),
    )
    return [row_to_event(row) for row in rows]


def all_events_query(
    *,
    types: bool = False,
    categories: bool = False,
    until: bool = False,
    partition: bool = False,
    gap_safe: bool = True,
) -> str:
    """SQL for committed events after $1, at most $2, with optional filters as $3...

    Filters present take the next parameters in the order watermark (`watermark`),
    types, categories, until, partition (two: the partition count, then the partition
    number). `gap_safe=False` drops the watermark: only for callers reading up to a
    gap-safe head, or holding locks that keep later commits out (a projection rebuild).
    """
    where = ["position > $1"]
    n = 3
    for present, clause, width in (
        (gap_safe, "transaction_id < ${}", 1),
        (types, "type = ANY(${})", 1),
        (categories, "category = ANY(${})", 1),
        (until, "position <= ${}", 1),
        (partition, "(hashtext(stream_id) & 2147483647) % ${} = ${}", 2),
    ):
        if present:
            where.append(clause.format(*range(n, n + width)))
            n += width
    return f"SELECT {_COLUMNS} FROM events WHERE {' AND '.join(where)} ORDER BY position LIMIT $2"


async def scan(
    conn: Connection,
    after: int = 0,
    until: int | None = None,
    *,
    types: Sequence[str] | None = None,
    gap_safe: bool = True,
    batch_size: int = 2000,
) -> AsyncIterator[RecordedEvent]:
    """Every event after `after` (up to `until`) on one connection, batch by batch."""
    query = all_events_query(types=types is not None, until=until is not None, gap_safe=gap_safe)
    params = [p for p in (types, until) if p is not None]
    while True:
        mark = [await watermark(conn)] if gap_safe else []
        rows = await conn.fetch(query, after, batch_size, *mark, *params)
        for row in rows:
            yield row_to_event(row)
        if len(rows) < batch_size:
            return
        after = rows[-1][0]


@contextlib.asynccontextmanager
async def dedicated_connection(store: "PostgresEventStore", dsn: str | None) -> AsyncIterator[Any]:
    """A connection kept for LISTEN and session locks: a new one to `dsn`, or one held
    from the store's pool for as long as the block runs (reset when it goes back)."""
    if dsn is None:
        async with store.pool.acquire() as held:
            session_changed(held)
            yield held
        return
    own = await asyncpg.connect(dsn)
    try:
        yield own
    finally:
        await own.close()


Listener = Callable[[int, frozenset[str] | None, frozenset[str]], None]
"""Told that an append of this process committed, up to a position, with events of these
types (None: any) in these streams."""


class Notifier:
    """NOTIFYs listeners that appends committed, outside the appends' own transactions.

    A NOTIFY inside the append would take Postgres's notification-queue lock through
    the commit's WAL flush, so appending transactions would commit one at a time and
    lose group commit. Here the notification follows the commit on another statement,
    and a burst of commits coalesces into one notification of the highest position.
    A lost notification only delays subscribers until their next poll.
    """

    def __init__(self, pool: Pool) -> None:
        self._pool = pool
        self._pending = 0
        self._sent = 0
        self._types: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        self.local: set[Listener] = set()
        """Told of each commit at once, before the NOTIFY: the followers in this process."""

    def committed(self, position: int, types: Iterable[str], streams: Iterable[str]) -> None:
        """An append up to `position` of events of `types` in `streams` committed: make
        sure listeners hear of it."""
        named = frozenset(types)
        appended = frozenset(streams)
        for listener in list(self.local):
            listener(position, named, appended)
        self._pending = max(self._pending, position)
        self._types.update(named)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._send())

    async def _send(self) -> None:
        # Types committed while a notification was on its way go in the next one, even
        # when their positions were below it (appends commit out of order).
        while (self._sent < self._pending or self._types) and not self._pool.is_closing():
            position, types = self._pending, self._types
            self._types = set()
            try:
                await self._pool.execute(
                    "SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, notification(position, types)
                )
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as error:
                log.warning("notify failed; subscribers will poll", extra={"error": str(error)})
                return
            self._sent = position


def notification(position: int, types: Iterable[str]) -> str:
    """The payload telling listeners that events up to `position` committed, of `types`
    among others (`position type type...`; only the position if the types would be
    too long, meaning any type)."""
    named = " ".join(sorted(types))
    return f"{position} {named}" if 0 < len(named) <= MAX_NOTIFIED_TYPES else str(position)


def notified(payload: object) -> tuple[int, frozenset[str] | None]:
    """The position and event types (None: any) of a notification's payload."""
    position, *types = str(payload).split()
    return int(position), frozenset(types) if types else None


class PostgresEventStore:
    """The Kumo event log in one Postgres table."""

    def __init__(
        self,
        pool: Pool,
        *,
        clock: Clock | None = None,
        ids: IdSource | None = None,
        inline: InlineHook | None = None,
    ) -> None:
        self.pool = pool
        self._clock = clock or SystemClock()
        self._ids = ids or RandomIds()
        self._inline = inline
        self._notifier = Notifier(pool)
        self._head_reading = asyncio.Lock()
        self._head_next: asyncio.Task[int] | None = None

    @contextlib.contextmanager
    def committed_here(self, listener: Listener) -> Iterator[None]:
        """Within the block, tell `listener` of each append this store commits as soon as
        it commits, with its streams, without waiting for the NOTIFY's round trip through
        Postgres (which still reaches every other process, and this one)."""
        self._notifier.local.add(listener)
        try:
            yield
        finally:
            self._notifier.local.discard(listener)

    async def append(
        self,
        stream_id: str,
        events: Sequence[Event],
        expected_version: ExpectedVersion = ANY,
        *,
        metadata: Metadata | None = None,
        command_id: uuid.UUID | None = None,
    ) -> AppendResult:
        """Append events to one stream; raises WrongExpectedVersion on a mismatch."""
        return await self.append_streams(
            [StreamAppend(stream_id, events, expected_version)],
            metadata=metadata,
            command_id=command_id,
        )

    async def append_streams(
        self,
        appends: Sequence[StreamAppend],
        *,
        metadata: Metadata | None = None,
        command_id: uuid.UUID | None = None,
        fused: Fused | None = None,
    ) -> AppendResult:
        """Append to several streams in one transaction: all of them or none.

        A repeated `command_id` returns the first append's events, marked
        `replayed`, and writes nothing. Inline projections run before commit, or
        `fused`'s function makes their writes in the append's statement (see Fused).
        """
        streams = sorted({a.stream_id for a in appends})
        if len(streams) != len(appends):
            raise ValueError("each stream may appear once in an append")
        if not any(a.events for a in appends):
            raise ValueError("an append needs at least one event")
        slot = {stream_id: i + 1 for i, stream_id in enumerate(streams)}
        expected = {a.stream_id: a.expected_version for a in appends}
        metadata = metadata or Metadata()
        if command_id is not None:
            if any(a.metadata is not None for a in appends):
                raise ValueError("a command's append has one metadata")
            metadata = Metadata(
                actor=metadata.actor,
                request_id=metadata.request_id,
                causation_id=metadata.causation_id,
                correlation_id=metadata.correlation_id,
                command_id=command_id,
            )
        encoded = {id(metadata): encode(metadata)}
        for a in appends:
            if a.metadata is not None and id(a.metadata) not in encoded:
                encoded[id(a.metadata)] = encode(a.metadata)
        events = [(a.stream_id, e) for a in appends for e in a.events]
        metadatas = [a.metadata or metadata for a in appends for _ in a.events]
        ids = [self._ids.new_id() for _ in events]
        recorded_at = self._clock.now()
        args: tuple[Any, ...] = (
            streams,
            [None if expected[s] == ANY else expected[s] for s in streams],
            [slot[s] for s, _ in events],
            ids,
            [e.type_name() for _, e in events],
            [e.schema_version for _, e in events],
            [encode(e) for _, e in events],
            [encoded[id(m)] for m in metadatas],
            recorded_at,
            command_id,
        )
        inline, statement = self._inline, _APPEND
        if inline is not None and inline.types is not None:
            handled = inline.types.intersection(e.type_name() for _, e in events)
            if not handled:
                inline = None
            elif fused is not None and handled <= fused.types:
                inline, statement = None, _call(fused.function, len(args) + len(fused.args))
                args += fused.args
        async with self.pool.acquire() as conn:
            # Without inline read models the call is its own (implicit) transaction:
            # one round trip instead of three.
            async with conn.transaction() if inline else contextlib.nullcontext():
                try:
                    rows = await conn.fetch(statement, *args)
                except BaseException as error:
                    session_changed(conn)  # it may still hold the ordering lock
                    if isinstance(error, asyncpg.PostgresError):
                        raise _translate(error, expected) from None
                    raise
                if rows and rows[0]["replayed"]:
                    stored = await conn.fetch(
                        f"SELECT {_COLUMNS} FROM events WHERE position = ANY($1) ORDER BY position",
                        [r[0] for r in rows],
                    )
                    return AppendResult(tuple(row_to_event(r) for r in stored), replayed=True)
                rows = sorted(rows, key=lambda r: r[0])
                recorded = tuple(
                    RecordedEvent(
                        position=row[0],
                        stream_id=row[1],
                        version=row[2],
                        event_id=event_id,
                        type=event.type_name(),
                        schema_version=event.schema_version,
                        recorded_at=recorded_at,
                        metadata=event_metadata,
                        event=event,
                    )
                    for row, event_id, (_, event), event_metadata in zip(
                        rows, ids, events, metadatas, strict=True
                    )
                )
                if inline is not None:
                    await inline(conn, recorded)
        self._notifier.committed(
            recorded[-1].position, {e.type for e in recorded}, {e.stream_id for e in recorded}
        )
        return AppendResult(recorded)

    async def read_stream(
        self,
        stream_id: str,
        from_version: int = 1,
        until_position: int | None = None,
        limit: int | None = None,
    ) -> list[RecordedEvent]:
        """The stream's events from `from_version` on (up to a position, at most `limit`),
        in version order."""
        rows = await self.pool.fetch(
            f"SELECT {_COLUMNS} FROM events WHERE stream_id = $1 AND version >= $2"
            " AND position <= coalesce($3, position) ORDER BY version LIMIT $4",
            stream_id,
            from_version,
            until_position,
            limit,
        )
        return [row_to_event(r) for r in rows]

    async def stream_version(self, stream_id: str) -> int:
        """The stream's current version; 0 when it does not exist."""
        version: int = await self.pool.fetchval(
            "SELECT coalesce(max(version), 0) FROM events WHERE stream_id = $1", stream_id
        )
        return version

    async def read_all(
        self,
        after: int = 0,
        limit: int = 1000,
        *,
        types: Sequence[str] | None = None,
        categories: Sequence[str] | None = None,
        until: int | None = None,
        partition: tuple[int, int] | None = None,
        gap_safe: bool = True,
    ) -> list[RecordedEvent]:
        """Up to `limit` committed events after position `after`, in position order.

        Gap-safe: an event is returned only once every transaction that could still
        commit a lower position has ended (see `watermark`). `gap_safe=False` skips that
        check, for an `until` that was a gap-safe head. `partition=(count, number)`
        keeps the streams that hash to that partition.
        """
        query = all_events_query(
            types=types is not None,
            categories=categories is not None,
            until=until is not None,
            partition=partition is not None,
            gap_safe=gap_safe,
        )
        params = [p for p in (types, categories, until) if p is not None]
        async with self.pool.acquire() as conn:
            mark = [await watermark(conn)] if gap_safe else []
            rows = await conn.fetch(query, after, limit, *mark, *params, *(partition or ()))
        return [row_to_event(r) for r in rows]

    async def iter_all(
        self, after: int = 0, *, until: int | None = None, batch_size: int = 2000
    ) -> AsyncIterator[RecordedEvent]:
        """Every committed event after `after` (up to `until`), in batches of flat memory."""
        async with self.pool.acquire() as conn:
            async for event in scan(conn, after, until, batch_size=batch_size):
                yield event

    async def position_at(self, time: datetime) -> int:
        """The last position a reader may see now of an event recorded at or before `time`
        (0 when none was): the log's prefix as it stood then, clocks permitting."""
        async with self.pool.acquire() as conn:
            position: int = await conn.fetchval(
                "SELECT coalesce(max(position), 0) FROM events"
                " WHERE recorded_at <= $1 AND transaction_id < $2",
                time,
                await watermark(conn),
            )
        return position

    async def head_position(self) -> int:
        """The position of the last event a reader may see now (0 for an empty log).

        Callers at the same time share one read that starts after they called (the
        log's followers all look when an append is notified): one read at a time, and
        those who call while it runs share the next."""
        shared = self._head_next
        if shared is None:
            shared = self._head_next = asyncio.ensure_future(self._read_head())
            # Its error reaches the callers still waiting; retrieved here if none is left.
            shared.add_done_callback(lambda read: read.cancelled() or read.exception())
        return await asyncio.shield(shared)

    async def _read_head(self) -> int:
        async with self._head_reading:
            self._head_next = None  # whoever calls from now on needs a later read
            return await self._fetch_head()

    async def _fetch_head(self) -> int:
        async with self.pool.acquire() as conn:
            position: int = await conn.fetchval(
                "SELECT coalesce(max(position), 0) FROM events WHERE transaction_id < $1",
                await watermark(conn),
            )
        return position


def _translate(error: asyncpg.PostgresError, expected: dict[str, ExpectedVersion]) -> Exception:
    """The event store's own error for a driver error raised by append_events."""
    sqlstate = getattr(error, "sqlstate", None)
    if sqlstate == "KU001":
        stream_id = getattr(error, "detail", "") or ""
        actual = int(getattr(error, "hint", "0") or 0)
        return WrongExpectedVersion(stream_id, expected[stream_id], actual)
    if sqlstate == "KU003":
        return AppendNotFirstWrite(str(error))
    return error
