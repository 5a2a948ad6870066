"""Running, rebuilding and replaying projections.

- `subscription_for` makes an asynchronous projection follow a checkpointed
  subscription (events/subscription.py); its rows and its checkpoint commit together.
- `rebuild` empties a model's tables and replays the whole log into them in one
  transaction, under an exclusive lock on those tables, in bulk (a `Folded` model
  stream by stream, a `Rebuilt` one by its own means: projections/bulk.py), its foreign
  keys checked once at the end; `fill_scratch`, which `kumo verify` uses, fills scratch
  copies of the tables the same way (`LIKE` copies no foreign key).
- `replay_into` builds models as they were at a past position in a scratch schema,
  event by event (gap-safe).
"""

import re
from collections.abc import Sequence
from typing import Any

import msgspec

from events.postgres import VISIBLE, Connection, PostgresEventStore, scan
from events.subscription import Subscription
from events.types import RecordedEvent
from projections.bulk import (
    Folded,
    Rebuilt,
    Sides,
    foreign_keys_checked_after,
    indexes_built_after,
    logged,
    replay_folded,
)
from projections.pipeline import Pipelined
from projections.projection import Projection, handles

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
BATCH = 100
"""Events an asynchronous projection applies in one transaction: while it is open, no
gap-safe reader of the log sees what commits after it began, so it is kept short."""
PERIOD = 0.02
"""An asynchronous projection reads the log at most once in this many seconds: under a
stream of small appends (object PUTs) a read and a transaction per append cost the server
and Postgres more than the events they carry."""


def subscription_for(projection: Projection, *, partitions: int = 1) -> Subscription:
    """A subscription that applies `projection` to each new event, checkpointed."""

    async def apply_batch(conn: Any, events: Sequence[RecordedEvent]) -> None:
        # The batch's transaction holds back the snapshot xmin, and with it every gap-safe
        # reader of the log (the live stream's hub, the other subscriptions), until it
        # commits: its writes go in runs, not a round trip per event.
        writer = Pipelined(conn)
        for event in events:
            await projection.apply(writer, event)
        await writer.flush()

    types = None if projection.types is None else tuple(sorted(projection.types))
    return Subscription(
        group=f"projection:{projection.name}",
        handler=apply_batch,
        partitions=partitions,
        types=types,
        batch_size=BATCH,
        period=PERIOD,
    )


def _identifier(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise ValueError(f"{name!r} is not a plain lower-case SQL identifier")
    return name


def scratch_name(name: str) -> str:
    """`name` if it may hold a scratch copy of the read models; ValueError otherwise
    (not a plain lower-case identifier, or `public` and Postgres's own schemas)."""
    if name in ("public", "information_schema") or name.startswith("pg_"):
        raise ValueError(f"{name!r} is a schema Kumo or Postgres relies on; choose another")
    return _identifier(name)


async def _replay(
    conn: Connection, projection: Projection, until: int | None, gap_safe: bool
) -> int:
    """Apply every event up to `until` on `conn`; the number applied.

    Read without the gap-safe condition (a rebuild, or a verification up to a settled
    position), a `Rebuilt` model fills its tables itself, a `Folded` one is filled stream
    by stream, then its side replayed here (its events read by `logged`), and `Sides`
    part by part (projections/bulk.py);
    the tables filled in bulk get their non-unique indexes once they are full (those
    that events replayed one by one use stay), a `Rebuilt` model's tables their unique
    ones too.
    """
    if isinstance(projection, Sides):
        return sum([await _replay(conn, p, until, gap_safe) for p in projection.parts])
    if isinstance(projection, Rebuilt) and not gap_safe:
        async with indexes_built_after(conn, projection.tables, unique=True):
            return await projection.rebuild_rows(conn, until)
    if isinstance(projection, Folded) and not gap_safe:
        async with indexes_built_after(
            conn, list(dict.fromkeys(f.table for f in projection.folds))
        ):
            applied = await replay_folded(conn, projection, until)
        if projection.side is not None:
            await _replay(conn, projection.side, until, gap_safe)
        return applied
    types = None if projection.types is None else sorted(projection.types)
    applied = 0
    writer = Pipelined(conn)
    events = (
        scan(conn, 0, until, types=types, gap_safe=True) if gap_safe else logged(conn, until, types)
    )
    async for event in events:
        if handles(projection, event):
            await projection.apply(writer, event)
            applied += 1
    await writer.flush()
    return applied


async def rebuild(store: PostgresEventStore, projection: Projection, *, inline: bool) -> int:
    """Empty the projection's tables and replay the log into them; the events applied.

    Inline models: the tables are locked first, so appends that would update them
    wait and apply on top of the rebuilt rows; every event committed before the
    lock is replayed. Asynchronous models: the log is replayed up to its gap-safe
    head and the group's checkpoints move there (or start there, for a group that
    never ran), in the same transaction.
    """
    tables = ", ".join(_identifier(t) for t in projection.tables)
    # Read before the rebuild's own connection is taken: the pool may hold just that one.
    head = None if inline else await store.head_position()
    async with store.pool.acquire() as conn, conn.transaction():
        await conn.execute(f"LOCK TABLE {tables} IN ACCESS EXCLUSIVE MODE")
        await conn.execute(f"TRUNCATE {tables}")
        async with foreign_keys_checked_after(conn, projection.tables):
            applied = await _replay(conn, projection, head, gap_safe=False)
        if head is None:
            return applied
        subscription = subscription_for(projection)
        await conn.execute(
            "UPDATE subscription_checkpoints SET position = $2, updated_at = now()"
            " WHERE group_name = $1",
            subscription.group,
            head,
        )
        # A group that never ran has no checkpoints yet: started at 0, it would apply
        # every event again on top of the rebuilt rows.
        await conn.execute(
            "INSERT INTO subscription_checkpoints (group_name, partition, position)"
            " SELECT $1, generate_series(0, $3 - 1), $2 ON CONFLICT DO NOTHING",
            subscription.group,
            head,
            subscription.partitions,
        )
        return applied


async def fill_scratch(
    conn: Connection, schema: str, projection: Projection, until: int | None, *, gap_safe: bool
) -> int:
    """Create empty copies of the projection's tables in `schema` (an existing one) and
    replay the log up to `until` into them, in the caller's transaction; the events applied.

    Leaves the transaction's search path at `schema`, then public.
    """
    for table in map(_identifier, projection.tables):
        await conn.execute(f"CREATE TABLE {schema}.{table} (LIKE public.{table} INCLUDING ALL)")
    await conn.execute(f"SET LOCAL search_path TO {_identifier(schema)}, public")
    return await _replay(conn, projection, until, gap_safe)


class Replayed(msgspec.Struct, frozen=True):
    """What `replay_into` built: the events in the log up to the position, the events the
    models applied (an event read by two models counts twice), and each table's rows."""

    events: int
    applied: int
    rows: dict[str, int]


SCRATCH_MARK = "kumo replay"
"""The start of the comment on every schema `replay_into` makes; only such schemas are
replaced."""


async def replay_into(
    store: PostgresEventStore,
    projections: Sequence[Projection],
    schema: str,
    until: int,
    *,
    replace: bool = False,
) -> Replayed:
    """Build `projections` as of position `until` in a new schema, left for plain SQL.

    The schema gets empty copies of the models' tables (`LIKE ... INCLUDING ALL`).
    Raises ValueError for a name `scratch_name` refuses or an SQL key word, and
    SchemaExists when the schema exists, unless `replace` and an earlier replay made it
    (then it is dropped first).
    """
    schema = scratch_name(schema)
    async with store.pool.acquire() as conn, conn.transaction():
        if await conn.fetchval(
            "SELECT catcode <> 'U' FROM pg_get_keywords() WHERE word = $1", schema
        ):
            raise ValueError(f"{schema!r} is an SQL key word; choose another name")
        exists, comment = await _schema(conn, schema)
        if exists:
            if not replace:
                raise SchemaExists(f"schema {schema} already exists; choose another name")
            if not (comment or "").startswith(SCRATCH_MARK):
                raise SchemaExists(
                    f"schema {schema} exists and is not a Kumo replay; it is not replaced"
                )
            await conn.execute(f"DROP SCHEMA {schema} CASCADE")
        await conn.execute(f"CREATE SCHEMA {schema}")
        await conn.execute(f"COMMENT ON SCHEMA {schema} IS '{SCRATCH_MARK} until position {until}'")
        applied = 0
        for projection in projections:
            applied += await fill_scratch(conn, schema, projection, until, gap_safe=True)
        events = await conn.fetchval(
            f"SELECT count(*) FROM events WHERE position <= $1 AND {VISIBLE}", until
        )
        rows = {
            table: await conn.fetchval(f"SELECT count(*) FROM {schema}.{table}")
            for projection in projections
            for table in projection.tables
        }
    return Replayed(events, applied, rows)


class SchemaExists(Exception):
    """The schema a replay was asked to make exists already."""


async def _schema(conn: Connection, schema: str) -> tuple[bool, str | None]:
    """Whether the schema exists, and its comment."""
    row = await conn.fetchrow(
        "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = $1",
        schema,
    )
    return (row is not None, row[0] if row is not None else None)
