"""A subscriber process for the two-process test: handles a group's events into a table.

Usage: python -m tests.integration.events.subscriber_process DSN GROUP PARTITIONS
"""

import asyncio
import os
import sys
from collections.abc import Sequence
from typing import Any

from events.postgres import PostgresEventStore, create_pool
from events.subscription import Subscription, SubscriptionRunner
from events.types import RecordedEvent
from tests import sample_events  # noqa: F401  (registers the event types)


async def record(conn: Any, events: Sequence[RecordedEvent]) -> None:
    await conn.executemany(
        "INSERT INTO handled (position, stream_id, version, pid) VALUES ($1, $2, $3, $4)",
        [(e.position, e.stream_id, e.version, os.getpid()) for e in events],
    )


async def main(dsn: str, group: str, partitions: int) -> None:
    pool = await create_pool(dsn, min_size=1, max_size=4)
    store = PostgresEventStore(pool)
    subscription = Subscription(
        group=group, handler=record, partitions=partitions, batch_size=50,
        poll_interval=0.5, rebalance_interval=0.2,
    )  # fmt: skip
    try:
        await SubscriptionRunner(store, dsn, subscription).run()
    finally:
        await pool.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
