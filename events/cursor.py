"""A reader's place in the log: gap-safe batches forward, and waiting for more."""

import asyncio
import contextlib
from collections.abc import Sequence

import msgspec

from events.partition import partition_of
from events.postgres import PostgresEventStore
from events.types import RecordedEvent

HIDDEN_RETRY = 0.002
"""Seconds before looking again for a notified event still hidden behind an
earlier transaction that has not ended (see migrations/0001_event_store.sql)."""


class Batch(msgspec.Struct, frozen=True):
    """Events read in one go, and how far the log was scanned to find them."""

    events: list[RecordedEvent]
    scanned_to: int
    full: bool


class LogCursor:
    """Reads forward from a position, filtered, and sleeps until there may be more."""

    def __init__(
        self,
        store: PostgresEventStore,
        after: int = 0,
        *,
        types: Sequence[str] | None = None,
        categories: Sequence[str] | None = None,
        partition: tuple[int, int] | None = None,
        batch_size: int = 500,
        poll_interval: float = 1.0,
    ) -> None:
        self.store = store
        self.position = after
        self.types = types
        self.categories = categories
        self.partition = partition
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.notified = 0
        self._wake = asyncio.Event()

    def notify(
        self,
        position: int,
        types: frozenset[str] | None = None,
        streams: frozenset[str] | None = None,
    ) -> None:
        """An append up to `position` committed, of events of `types` (None: any) in
        `streams` (None: not known, as from a NOTIFY): wake the waiter, unless the cursor
        reads none of those types or none of those streams is in its partition."""
        if types is not None and self.types is not None and types.isdisjoint(self.types):
            return
        if self.partition is not None and streams is not None:
            count, number = self.partition
            if all(partition_of(s, count) != number for s in streams):
                return
        self.notified = max(self.notified, position)
        self._wake.set()

    async def read(self) -> Batch:
        """The next events after the cursor (without moving it), up to the gap-safe head."""
        self._wake.clear()
        head = await self.store.head_position()
        if head <= self.position:
            return Batch([], self.position, full=False)
        events = await self.store.read_all(
            self.position,
            self.batch_size,
            types=self.types,
            categories=self.categories,
            until=head,
            partition=self.partition,
            gap_safe=False,  # everything up to a gap-safe head is settled
        )
        # A batch that ends at the head leaves nothing to read before the next append.
        full = len(events) == self.batch_size and events[-1].position < head
        return Batch(events, events[-1].position if full else head, full)

    def advance(self, batch: Batch) -> None:
        """Move past a batch once it has been dealt with."""
        self.position = max(self.position, batch.scanned_to)

    async def wait(self) -> None:
        """Sleep until notified, or a poll interval passes (shorter if a notified event
        is still hidden behind an earlier open transaction)."""
        timeout = HIDDEN_RETRY if self.notified > self.position else self.poll_interval
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation
        # that arrives as the wake-up completes, and the subscriber would not stop.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._wake.wait()
