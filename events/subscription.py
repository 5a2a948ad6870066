"""Checkpointed subscriptions: catch up from a stored position, then follow live.

A subscription group hands every committed event (of the types and categories it
asks for) to its handler exactly once, in position order within each partition.
Streams are spread over `partitions` by a hash of their id, so one stream's events
always go to one partition in order. Processes of one group share the partitions:

- every process holds a shared "member" advisory lock, so the number of live
  members can be counted in pg_locks, and takes at most its fair share
  (ceil(partitions / members)) of partition leases, session advisory locks on a
  connection of its own. A process that dies loses its leases with its connection.
  Leases are advisory locks, not row locks, on purpose: a row lock would keep a
  transaction open, hold back the snapshot xmin and so stall every reader of the log.
- the handler runs in one transaction with a compare-and-set of the partition's
  checkpoint: if another process moved the checkpoint meanwhile, the batch rolls
  back, so no event is handled twice even if two processes ever believe they hold
  one lease.
- NOTIFY wakes the workers at once; a poll every `poll_interval` seconds catches
  what a lost notification would have delayed (events/cursor.py). An append of this
  process wakes at once only the workers whose partitions hold its streams
  (events/partition.py), and the NOTIFY it sends, which comes back here too, is
  ignored: the other partitions have nothing to read in it.
"""

import asyncio
import hashlib
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import msgspec

from events.cancellation import being_cancelled
from events.cursor import Batch, LogCursor
from events.partition import agrees
from events.postgres import (
    NOTIFY_CHANNEL,
    Pool,
    PostgresEventStore,
    dedicated_connection,
    notified,
)
from events.types import RecordedEvent

Handler = Callable[[Any, Sequence[RecordedEvent]], Awaitable[None]]
"""Handles a batch of events with a connection, inside the checkpoint's transaction."""

log = logging.getLogger("kumo.subscription")
ANNOUNCED = 1024
"""Positions of this process's appends remembered, to ignore their NOTIFYs."""


class LeaseLost(Exception):
    """Another process advanced this partition's checkpoint: stop handling it."""


class Subscription(msgspec.Struct, frozen=True, kw_only=True):
    """What a subscription group follows and how it handles it."""

    group: str
    handler: Handler
    partitions: int = 1
    types: tuple[str, ...] | None = None
    categories: tuple[str, ...] | None = None
    batch_size: int = 500
    poll_interval: float = 1.0
    rebalance_interval: float = 1.0
    period: float = 0.0
    """Reads of a partition start at least this many seconds apart: the events of the
    appends that commit meanwhile are handled in one batch, not one each (an event after
    a quiet spell is still read at once)."""
    in_transaction: bool = True
    """False for handlers that act on the world and record results themselves,
    idempotently (reactors): they run before the checkpoint's transaction, with the
    pool, so they hold no connection while they work."""


def lock_key(*parts: object) -> int:
    """A stable signed 64-bit advisory-lock key for the given parts."""
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


MEMBER_LOCKS = (
    "SELECT array_agg(ARRAY[classid::bigint, objid::bigint]) FROM pg_locks"
    " WHERE locktype = 'advisory' AND granted AND objsubid = 1"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)
"""SQL of one value: the member locks held now (see `live_among`), for a query that reads
them with other things."""


def live_among(held: Sequence[Sequence[int]] | None, groups: Sequence[str]) -> set[str]:
    """Those of `groups` whose member lock is among `held` (`MEMBER_LOCKS`' value)."""
    pairs = {(high, low) for high, low in held or ()}
    return {g for g in groups if _halves(lock_key("kumo-member", g)) in pairs}


async def live_groups(db: Any, groups: Sequence[str]) -> set[str]:
    """Those of `groups` that a running process is a member of now (holds the group's
    member lock): a liveness signal that ends with the process's connection."""
    return live_among(await db.fetchval(MEMBER_LOCKS), groups)


def _halves(key: int) -> tuple[int, int]:
    """A 64-bit lock key as pg_locks shows it: its high and low 32 bits, unsigned."""
    return (key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF


async def read_checkpoint(pool: Pool, group: str, partition: int) -> int:
    """The stored position of one partition of a group (0 if it never ran)."""
    position: int | None = await pool.fetchval(
        "SELECT position FROM subscription_checkpoints WHERE group_name = $1 AND partition = $2",
        group,
        partition,
    )
    return position or 0


class _Partition:
    """The worker of one leased partition: read, handle, checkpoint, wait."""

    def __init__(self, runner: "SubscriptionRunner", number: int) -> None:
        sub = runner.subscription
        self.runner = runner
        self.number = number
        self.cursor = LogCursor(
            runner.store,
            types=sub.types,
            categories=sub.categories,
            partition=(sub.partitions, number) if sub.partitions > 1 else None,
            batch_size=sub.batch_size,
            poll_interval=sub.poll_interval,
        )
        self.durable = 0  # the stored checkpoint
        self.task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        sub = self.runner.subscription
        pool = self.runner.store.pool
        await pool.execute(
            "INSERT INTO subscription_checkpoints (group_name, partition) VALUES ($1, $2)"
            " ON CONFLICT DO NOTHING",
            sub.group,
            self.number,
        )
        self.durable = self.cursor.position = await read_checkpoint(pool, sub.group, self.number)
        failures = 0
        loop = asyncio.get_running_loop()
        while True:
            read_at = loop.time()
            try:
                batch = await self.cursor.read()
                if batch.events or (batch.scanned_to > self.durable and self.runner.due_for_save()):
                    await self._commit(batch)
                self.cursor.advance(batch)
                failures = 0
            except LeaseLost:
                log.warning("lease lost", extra={"group": sub.group, "partition": self.number})
                return
            except Exception as error:
                if being_cancelled():
                    raise asyncio.CancelledError from error
                failures += 1
                delay = min(30.0, 0.1 * 2**failures)
                log.exception(
                    "subscription handler failed; retrying",
                    extra={"group": sub.group, "partition": self.number, "retry_in": delay,
                           "error": str(error)},
                )  # fmt: skip
                await asyncio.sleep(delay)
                continue
            self.runner.progressed()
            if not batch.full:
                await self.cursor.wait()
                rest = read_at + sub.period - loop.time()
                if rest > 0:
                    await asyncio.sleep(rest)

    async def _commit(self, batch: Batch) -> None:
        """Handle the batch and move the checkpoint in one transaction (compare-and-set);
        or, for a subscription not `in_transaction`, handle it first and move the
        checkpoint alone, in one statement."""
        sub = self.runner.subscription
        pool = self.runner.store.pool
        if not (batch.events and sub.in_transaction):
            if batch.events:
                await sub.handler(pool, batch.events)
            await self._save(pool, batch.scanned_to)
        else:
            async with pool.acquire() as conn, conn.transaction():
                await sub.handler(conn, batch.events)
                await self._save(conn, batch.scanned_to)
        self.durable = batch.scanned_to

    async def _save(self, db: Any, position: int) -> None:
        """Move the checkpoint to `position` if it is still where this worker left it;
        LeaseLost otherwise (in a transaction, which then rolls back)."""
        # A crash may lose the last few checkpoints, and with them the rows the handler
        # wrote in the same transaction: both are redone, never half-done. So the commit
        # need not wait for its WAL flush (`set_config(..., true)`: SET LOCAL, for the
        # statement's own transaction too).
        status = await db.execute(
            "UPDATE subscription_checkpoints SET position = $3, updated_at = now()"
            " FROM (SELECT set_config('synchronous_commit', 'off', true)) AS lazy"
            " WHERE group_name = $1 AND partition = $2 AND position = $4",
            self.runner.subscription.group,
            self.number,
            position,
            self.durable,
        )
        if status != "UPDATE 1":
            raise LeaseLost()


class SubscriptionRunner:
    """This process's share of one subscription group, until stopped."""

    def __init__(
        self, store: PostgresEventStore, dsn: str | None, subscription: Subscription
    ) -> None:
        """`dsn` None: the leases and LISTEN use a connection held from the store's pool."""
        self.store = store
        self.dsn = dsn
        self.subscription = subscription
        self._held: dict[int, _Partition] = {}
        self._conn: Any = None
        self._progress = asyncio.Event()
        self.joined = asyncio.Event()
        """Set once this process is a member of the group (see `live_groups`)."""
        self._last_save = 0.0
        self._announced: dict[int, None] = {}
        """The last positions this process's appends announced (`ANNOUNCED` at most)."""
        self._by_stream = False
        """Whether workers are woken by the streams of this process's appends: once the
        server is known to hash stream ids as events/partition.py does."""

    @property
    def partitions_held(self) -> list[int]:
        return sorted(self._held)

    async def run(self) -> None:
        """Join the group and work until cancelled; leases are released on the way out."""
        sub = self.subscription
        with self.store.committed_here(self._notify):
            await self._run(sub)

    async def _run(self, sub: Subscription) -> None:
        async with dedicated_connection(self.store, self.dsn) as conn:
            self._conn = conn
            self._by_stream = await agrees(conn)
            await conn.add_listener(NOTIFY_CHANNEL, self._on_notify)
            try:
                await conn.execute(
                    "SELECT pg_advisory_lock_shared($1)", lock_key("kumo-member", sub.group)
                )
                self.joined.set()
                while True:
                    await self._rebalance()
                    for number, part in list(self._held.items()):
                        if part.task is not None and part.task.done():
                            await self._release(number)
                    await asyncio.sleep(sub.rebalance_interval)
            finally:
                for number in list(self._held):
                    await self._release(number)
                if not conn.is_closed():
                    await conn.remove_listener(NOTIFY_CHANNEL, self._on_notify)
                    await conn.execute("SELECT pg_advisory_unlock_all()")

    async def wait_until(self, position: int) -> None:
        """Wait until every partition of the group is held here and has passed `position`.

        For tests and tools; bound it with `asyncio.timeout`.
        """
        while not (
            len(self._held) == self.subscription.partitions
            and all(p.cursor.position >= position for p in self._held.values())
        ):
            self._progress.clear()
            await self._progress.wait()

    def progressed(self) -> None:
        """A worker finished a step: wake whoever waits for progress."""
        self._progress.set()

    def due_for_save(self) -> bool:
        """Whether a checkpoint that moved past others' events should be stored now."""
        now = asyncio.get_running_loop().time()
        if now - self._last_save < 1.0:
            return False
        self._last_save = now
        return True

    def _on_notify(self, conn: Any, pid: int, channel: str, payload: object) -> None:
        position, types = notified(payload)
        # A notification names the highest position of a run of one process's commits:
        # if that one was announced here, all were (`_notify`).
        if position not in self._announced:
            self._notify(position, types)

    def _notify(
        self, position: int, types: frozenset[str] | None, streams: frozenset[str] | None = None
    ) -> None:
        """Wake the workers that may have news up to `position`; `streams` are those of an
        append of this process, announced as it committed."""
        if streams is not None:
            self._announced[position] = None
            if len(self._announced) > ANNOUNCED:
                del self._announced[next(iter(self._announced))]
            if not self._by_stream:
                streams = None
        for part in self._held.values():
            part.cursor.notify(position, types, streams)

    async def _members(self) -> int:
        count: int = await self._conn.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND classid = $1::bigint::oid AND objid = $2::bigint::oid AND objsubid = 1",
            *_halves(lock_key("kumo-member", self.subscription.group)),
        )
        return max(1, count)

    async def _rebalance(self) -> None:
        sub = self.subscription
        fair = math.ceil(sub.partitions / await self._members())
        for number in sorted(self._held, reverse=True)[: max(0, len(self._held) - fair)]:
            await self._release(number)
        for number in range(sub.partitions):
            if len(self._held) >= fair:
                break
            if number in self._held:
                continue
            key = lock_key("kumo-lease", sub.group, number)
            if await self._conn.fetchval("SELECT pg_try_advisory_lock($1)", key):
                part = _Partition(self, number)
                part.task = asyncio.get_running_loop().create_task(part.run())
                self._held[number] = part
                log.info("partition leased", extra={"group": sub.group, "partition": number})

    async def _release(self, number: int) -> None:
        part = self._held.pop(number)
        if part.task is not None:
            part.task.cancel()
            await asyncio.gather(part.task, return_exceptions=True)
        if not self._conn.is_closed():
            await self._conn.execute(
                "SELECT pg_advisory_unlock($1)",
                lock_key("kumo-lease", self.subscription.group, number),
            )
