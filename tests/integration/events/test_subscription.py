"""Subscriptions: catch-up, live delivery, poll fallback, restart, and two processes."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from events.partition import partition_of
from events.postgres import NOTIFY_CHANNEL, PostgresEventStore, notification
from events.subscription import Subscription, SubscriptionRunner, read_checkpoint
from events.types import RecordedEvent
from tests.sample_events import Noted, Renamed

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
async def handled_table(store: PostgresEventStore) -> None:
    await store.pool.execute(
        "CREATE TABLE handled (seq bigserial PRIMARY KEY, position bigint NOT NULL,"
        " stream_id text NOT NULL, version bigint NOT NULL, pid integer NOT NULL)"
    )


async def record(conn: Any, events: Sequence[RecordedEvent]) -> None:
    await conn.executemany(
        "INSERT INTO handled (position, stream_id, version, pid) VALUES ($1, $2, $3, 0)",
        [(e.position, e.stream_id, e.version) for e in events],
    )


async def handled_positions(store: PostgresEventStore) -> list[int]:
    return [r[0] for r in await store.pool.fetch("SELECT position FROM handled ORDER BY seq")]


@pytest.fixture
def subscription() -> Subscription:
    return Subscription(group="test", handler=record, poll_interval=0.2, rebalance_interval=0.1)


async def running(
    store: PostgresEventStore, dsn: str, subscription: Subscription
) -> AsyncIterator[SubscriptionRunner]:
    runner = SubscriptionRunner(store, dsn, subscription)
    task = asyncio.create_task(runner.run())
    try:
        yield runner
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


@pytest.mark.usefixtures("handled_table")
async def test_catches_up_then_follows_live(
    store: PostgresEventStore, database_url: str, subscription: Subscription
) -> None:
    for i in range(30):
        await store.append(f"note-{i % 3}", [Noted(n=i)])
    async for runner in running(store, database_url, subscription):
        async with asyncio.timeout(10):
            await runner.wait_until(await store.head_position())
        assert await handled_positions(store) == list(range(1, 31))
        started = time.monotonic()
        result = await store.append("note-9", [Noted(n=99)])
        async with asyncio.timeout(10):
            await runner.wait_until(result.last_position)
        assert time.monotonic() - started < 0.15, "live delivery should not wait for the poll"
    assert await handled_positions(store) == list(range(1, 32))
    assert await read_checkpoint(store.pool, "test", 0) == 31


@pytest.mark.usefixtures("handled_table")
async def test_filters_by_type_and_category(store: PostgresEventStore, database_url: str) -> None:
    sub = Subscription(group="renames", handler=record, types=("Renamed",), categories=("disk",))
    await store.append("disk-1", [Renamed(name="a"), Noted(n=1)])
    await store.append("note-1", [Renamed(name="b")])
    async for runner in running(store, database_url, sub):
        async with asyncio.timeout(10):
            await runner.wait_until(await store.head_position())
    assert await handled_positions(store) == [1]


@pytest.mark.usefixtures("handled_table")
async def test_a_lost_notification_only_delays(
    store: PostgresEventStore, database_url: str, subscription: Subscription
) -> None:
    async for runner in running(store, database_url, subscription):
        async with asyncio.timeout(10):
            await runner.wait_until(0)
        await runner._conn.remove_listener(NOTIFY_CHANNEL, runner._on_notify)
        elsewhere = PostgresEventStore(store.pool)  # as another process: no wake-up here
        result = await elsewhere.append("note-1", [Noted(n=1)])
        async with asyncio.timeout(10):
            await runner.wait_until(result.last_position)
    assert await handled_positions(store) == [result.last_position]


@pytest.mark.usefixtures("handled_table")
async def test_an_append_of_the_same_store_wakes_its_followers_without_the_notification(
    store: PostgresEventStore, database_url: str
) -> None:
    subscription = Subscription(
        group="test", handler=record, poll_interval=60.0, rebalance_interval=0.1
    )
    async for runner in running(store, database_url, subscription):
        async with asyncio.timeout(10):
            await runner.wait_until(0)
        await runner._conn.remove_listener(NOTIFY_CHANNEL, runner._on_notify)
        result = await store.append("note-1", [Noted(n=1)])
        async with asyncio.timeout(5):  # far sooner than the minute-long poll
            await runner.wait_until(result.last_position)
    assert await handled_positions(store) == [result.last_position]


@pytest.mark.usefixtures("handled_table")
async def test_an_append_of_the_same_store_wakes_only_the_partitions_of_its_streams(
    store: PostgresEventStore, database_url: str
) -> None:
    subscription = Subscription(
        group="test", handler=record, partitions=4, poll_interval=60.0, rebalance_interval=0.1
    )
    async for runner in running(store, database_url, subscription):
        async with asyncio.timeout(10):
            await runner.wait_until(0)
        parts = [runner._held[n] for n in range(4)]
        result = await store.append("note-1", [Noted(n=1)])
        mine = partition_of("note-1", 4)
        async with asyncio.timeout(5):  # far sooner than the minute-long poll
            while parts[mine].cursor.position < result.last_position:
                await asyncio.sleep(0.01)
        await asyncio.sleep(0.5)  # its NOTIFY has come back through Postgres meanwhile
        told = [p.cursor.notified for p in parts]
        assert told == [result.last_position if n == mine else 0 for n in range(4)]
        # Another process's notification wakes every partition.
        foreign = notification(result.last_position + 1, {"Noted"})
        await store.pool.execute("SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, foreign)
        async with asyncio.timeout(5):
            while any(p.cursor.notified <= result.last_position for p in parts):
                await asyncio.sleep(0.01)
    assert await handled_positions(store) == [result.last_position]


@pytest.mark.usefixtures("handled_table")
async def test_resumes_from_checkpoint_after_restart(
    store: PostgresEventStore, database_url: str, subscription: Subscription
) -> None:
    await store.append("note-1", [Noted(n=1), Noted(n=2)])
    async for runner in running(store, database_url, subscription):
        async with asyncio.timeout(10):
            await runner.wait_until(2)
    await store.append("note-1", [Noted(n=3)])
    async for runner in running(store, database_url, subscription):
        async with asyncio.timeout(10):
            await runner.wait_until(3)
    assert await handled_positions(store) == [1, 2, 3]


@pytest.mark.usefixtures("handled_table")
async def test_a_failing_handler_retries_the_batch_without_losing_it(
    store: PostgresEventStore, database_url: str
) -> None:
    failures = [1]

    async def flaky(conn: Any, events: Sequence[RecordedEvent]) -> None:
        await record(conn, events)
        if failures:
            failures.pop()
            raise RuntimeError("transient")

    await store.append("note-1", [Noted(n=1)])
    sub = Subscription(group="flaky", handler=flaky, poll_interval=0.1, rebalance_interval=0.1)
    async for runner in running(store, database_url, sub):
        async with asyncio.timeout(10):
            await runner.wait_until(1)
    assert await handled_positions(store) == [1]


@pytest.mark.slow
@pytest.mark.usefixtures("handled_table")
async def test_two_processes_share_a_group_without_handling_twice(
    store: PostgresEventStore, database_url: str
) -> None:
    def spawn() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.integration.events.subscriber_process",
             database_url, "shared", "8"],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip

    processes = [spawn(), spawn()]
    try:
        total = 0
        for round_ in range(20):
            for stream in range(40):
                await store.append(f"note-{stream}", [Noted(n=round_)] * 3)
                total += 3
            await asyncio.sleep(0.05)
        async with asyncio.timeout(60):
            while await store.pool.fetchval("SELECT count(*) FROM handled") < total:
                assert all(p.poll() is None for p in processes), "a subscriber died"
                await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)  # a duplicate would arrive now
        rows = await store.pool.fetch(
            "SELECT position, stream_id, version, pid FROM handled ORDER BY seq"
        )
    finally:
        for p in processes:
            p.send_signal(signal.SIGINT)
        for p in processes:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
    positions = [r["position"] for r in rows]
    assert len(positions) == len(set(positions)) == total, "an event was handled twice or lost"
    pids = {r["pid"] for r in rows}
    assert len(pids) == 2, "both processes should have handled a share"
    per_stream: dict[str, list[int]] = {}
    for r in rows:
        per_stream.setdefault(r["stream_id"], []).append(r["version"])
    assert all(v == sorted(v) for v in per_stream.values()), "a stream was handled out of order"


@pytest.mark.usefixtures("handled_table")
async def test_a_period_gathers_the_appends_made_within_it(
    store: PostgresEventStore, database_url: str
) -> None:
    batches: list[list[int]] = []

    async def handler(conn: Any, events: Sequence[RecordedEvent]) -> None:
        batches.append([e.position for e in events])
        await record(conn, events)

    paced = Subscription(
        group="paced", handler=handler, poll_interval=5.0, rebalance_interval=0.1, period=0.5
    )
    async for runner in running(store, database_url, paced):
        async with asyncio.timeout(10):
            await runner.wait_until(await store.head_position())
        await asyncio.sleep(0.6)  # a quiet spell: the next event is read at once
        started = time.monotonic()
        first = await store.append("note-1", [Noted(n=1)])
        async with asyncio.timeout(10):
            await runner.wait_until(first.last_position)
        assert time.monotonic() - started < 0.3
        last = first
        for n in range(5):
            last = await store.append(f"note-{n}", [Noted(n=n)])
        async with asyncio.timeout(10):
            await runner.wait_until(last.last_position)
    assert batches == [[first.last_position], list(range(first.last_position + 1, 7))]
    assert await handled_positions(store) == list(range(1, 7))
