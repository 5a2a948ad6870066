"""Running, rebuilding and replaying projections.

- `subscription_for` makes an asynchronous projection follow a checkpointed
  subscription (events/subscription.py); its rows and its checkpoint commit together.
- `rebuild` empties a model's tables and replays the whole log into them in one
  transaction, under an exclusive lock on those tables.
- `replay_into` builds models as they were at a past position in a scratch schema.
"""

import re
from collections.abc import Sequence
from typing import Any

from events.postgres import Connection, PostgresEventStore, scan
from events.subscription import Subscription
from events.types import RecordedEvent
from projections.projection import Projection, handles

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def subscription_for(projection: Projection, *, partitions: int = 1) -> Subscription:
    """A subscription that applies `projection` to each new event, checkpointed."""

    async def apply_batch(conn: Any, events: Sequence[RecordedEvent]) -> None:
        for event in events:
            await projection.apply(conn, event)

    types = None if projection.types is None else tuple(sorted(projection.types))
    return Subscription(
        group=f"projection:{projection.name}",
        handler=apply_batch,
        partitions=partitions,
        types=types,
    )


def _identifier(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise ValueError(f"{name!r} is not a plain lower-case SQL identifier")
    return name


async def _replay(
    conn: Connection, projection: Projection, until: int | None, gap_safe: bool
) -> int:
    """Apply every event up to `until` on `conn`; the number applied."""
    types = None if projection.types is None else sorted(projection.types)
    applied = 0
    async for event in scan(conn, 0, until, types=types, gap_safe=gap_safe):
        if handles(projection, event):
            await projection.apply(conn, event)
            applied += 1
    return applied


async def rebuild(store: PostgresEventStore, projection: Projection, *, inline: bool) -> int:
    """Empty the projection's tables and replay the log into them; the events applied.

    Inline models: the tables are locked first, so appends that would update them
    wait and apply on top of the rebuilt rows; every event committed before the
    lock is replayed. Asynchronous models: the log is replayed up to its gap-safe
    head and the group's checkpoints move there, in the same transaction.
    """
    tables = ", ".join(_identifier(t) for t in projection.tables)
    async with store.pool.acquire() as conn, conn.transaction():
        await conn.execute(f"LOCK TABLE {tables} IN ACCESS EXCLUSIVE MODE")
        await conn.execute(f"TRUNCATE {tables}")
        if inline:
            return await _replay(conn, projection, None, gap_safe=False)
        head = await store.head_position()
        applied = await _replay(conn, projection, head, gap_safe=False)
        await conn.execute(
            "UPDATE subscription_checkpoints SET position = $2, updated_at = now()"
            " WHERE group_name = $1",
            subscription_for(projection).group,
            head,
        )
        return applied


async def replay_into(
    store: PostgresEventStore, projections: Sequence[Projection], schema: str, until: int
) -> int:
    """Build `projections` as of position `until` in a fresh schema; the events applied.

    The schema gets empty copies of the models' tables (`LIKE ... INCLUDING ALL`)
    and is left for plain SQL queries; raises if it already exists.
    """
    schema = _identifier(schema)
    applied = 0
    async with store.pool.acquire() as conn, conn.transaction():
        await conn.execute(f"CREATE SCHEMA {schema}")
        for projection in projections:
            for table in map(_identifier, projection.tables):
                await conn.execute(
                    f"CREATE TABLE {schema}.{table} (LIKE public.{table} INCLUDING ALL)"
                )
        await conn.execute(f"SET LOCAL search_path TO {schema}, public")
        for projection in projections:
            applied += await _replay(conn, projection, until, gap_safe=True)
    return applied
