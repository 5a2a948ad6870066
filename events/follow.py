"""Following the log live without a checkpoint: for `kumo events tail` and streams to users."""

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from typing import Any

from events.cursor import LogCursor
from events.postgres import NOTIFY_CHANNEL, PostgresEventStore, dedicated_connection, notified
from events.types import RecordedEvent


async def follow_batches(
    store: PostgresEventStore,
    dsn: str | None = None,
    after: int = 0,
    *,
    types: Sequence[str] | None = None,
    categories: Sequence[str] | None = None,
    poll_interval: float = 1.0,
) -> AsyncGenerator[list[RecordedEvent], None]:
    """Every committed event after `after`, then the new ones as they commit, forever, a
    read's worth at a time (never an empty list).

    Gap-safe and in position order, like `read_all`; wakes on NOTIFY (only for `types`,
    when the notification names its types), at once for this store's own appends, and
    polls every `poll_interval` seconds in case a notification is lost. The LISTEN runs
    on a connection of its own to `dsn`, or on one held from the store's pool.
    """
    cursor = LogCursor(
        store, after, types=types, categories=categories, poll_interval=poll_interval
    )

    def on_notify(conn: Any, pid: int, channel: str, payload: object) -> None:
        cursor.notify(*notified(payload))

    with store.committed_here(cursor.notify):
        async with dedicated_connection(store, dsn) as conn:
            await conn.add_listener(NOTIFY_CHANNEL, on_notify)
            try:
                while True:
                    batch = await cursor.read()
                    if batch.events:
                        yield batch.events
                    cursor.advance(batch)
                    if not batch.full:
                        await cursor.wait()
            finally:
                await conn.remove_listener(NOTIFY_CHANNEL, on_notify)


async def follow(
    store: PostgresEventStore,
    dsn: str | None = None,
    after: int = 0,
    *,
    types: Sequence[str] | None = None,
    categories: Sequence[str] | None = None,
    poll_interval: float = 1.0,
) -> AsyncIterator[RecordedEvent]:
    """`follow_batches`, one event at a time."""
    batches = follow_batches(
        store, dsn, after, types=types, categories=categories, poll_interval=poll_interval
    )
    async with contextlib.aclosing(batches):
        async for batch in batches:
            for event in batch:
                yield event
