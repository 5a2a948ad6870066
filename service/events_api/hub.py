"""One follower of the log per application, fanning each new event out to every live
subscriber of the stream (sse.py).

The hub follows the whole log once (one LISTEN connection, one read per batch, one
owner lookup and one encoding per event, however many subscribers there are) and offers
each event to each subscriber that wants and may see it, without waiting: a subscriber
whose queue is full is dropped from the hub (it is told by a final None), so no
subscriber slows the hub, the writers or the others. It runs while it has subscribers.
"""

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Sequence

import msgspec
from aiohttp import web

from events.follow import follow_batches
from events.postgres import PostgresEventStore
from events.types import RecordedEvent
from service.auth import AuthContext
from service.events_api.access import Owners, may_read
from service.events_api.envelope import to_doc

log = logging.getLogger("kumo.events_api")


class Filter(msgspec.Struct, frozen=True):
    """Which events one subscriber receives."""

    auth: AuthContext
    types: Sequence[str] | None
    categories: Sequence[str] | None
    project_id: str | None
    admin: bool = False
    """The caller is an admin (`auth.is_admin`, worked out once): it may see everything."""

    def wants(self, recorded: RecordedEvent, owner: str | None) -> bool:
        """Whether the subscriber asked for `recorded` and may see it (access.py's rule),
        its stream belonging to `owner`."""
        if self.types is not None and recorded.type not in self.types:
            return False
        if self.categories is not None and recorded.category not in self.categories:
            return False
        if self.project_id is not None and owner != self.project_id:
            return False
        return self.admin or may_read(self.auth, recorded.stream_id, owner)


def frame(recorded: RecordedEvent) -> bytes:
    """One event as an SSE message."""
    data = msgspec.json.encode(to_doc(recorded))
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (recorded.position, recorded.type.encode(), data)


Item = tuple[int, bytes] | None
"""A position and its frame; None once the subscriber has been dropped."""


class Subscriber:
    """A subscriber's place at the hub: what it wants, and the events it has not taken
    yet (positions after `joined_at`)."""

    def __init__(self, wanted: Filter, size: int, joined_at: int) -> None:
        self.wanted = wanted
        self.joined_at = joined_at
        self.queue: asyncio.Queue[Item] = asyncio.Queue(maxsize=size + 1)

    def offer(self, item: tuple[int, bytes]) -> bool:
        """Queue an event; False (and a final None) when the queue is full."""
        if self.queue.qsize() >= self.queue.maxsize - 1:
            self.queue.put_nowait(None)
            return False
        self.queue.put_nowait(item)
        return True

    def end(self) -> None:
        """Tell the subscriber no more will come."""
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)


class Hub:
    """The log followed once for every live subscriber of one application."""

    def __init__(self, store: PostgresEventStore, dsn: str | None) -> None:
        self.store = store
        self.dsn = dsn
        self.owners = Owners(store)
        self.position = 0
        self._subscribers: set[Subscriber] = set()
        self._task: asyncio.Task[None] | None = None
        self._starting = asyncio.Lock()

    async def join(self, wanted: Filter, size: int) -> Subscriber:
        """A new subscriber, offered every event after the hub's position from now on
        (started at the head of the log if it was not running)."""
        async with self._starting:
            if self._task is None or self._task.done():
                self.position = await self.store.head_position()
                self._task = asyncio.create_task(self._run(self.position))
        subscriber = Subscriber(wanted, size, self.position)
        self._subscribers.add(subscriber)
        return subscriber

    def leave(self, subscriber: Subscriber) -> None:
        """Forget a subscriber; the last one to leave stops the follower."""
        self._subscribers.discard(subscriber)
        if not self._subscribers and self._task is not None:
            self._task.cancel()
            self._task = None

    async def _run(self, after: int) -> None:
        try:
            batches = follow_batches(self.store, self.dsn, after)
            async with contextlib.aclosing(batches):
                async for batch in batches:
                    await self.owners.learn(batch)
                    for recorded in batch:
                        self._offer(recorded, await self.owners.of(recorded))
        except Exception:
            if not self.store.pool.is_closing():  # else the service is stopping
                log.exception("the events stream's follower failed; its subscribers are ended")
            for subscriber in self._subscribers:
                subscriber.end()
            self._subscribers.clear()

    def _offer(self, recorded: RecordedEvent, owner: str | None) -> None:
        """Offer `recorded` (of a stream of `owner`) to every subscriber that wants it,
        encoded once; drop those whose queue is full."""
        encoded: bytes | None = None
        for subscriber in list(self._subscribers):
            if not subscriber.wanted.wants(recorded, owner):
                continue
            encoded = encoded or frame(recorded)
            if not subscriber.offer((recorded.position, encoded)):
                self._subscribers.discard(subscriber)
        self.position = recorded.position


_HUBS: "weakref.WeakKeyDictionary[web.Application, Hub]" = weakref.WeakKeyDictionary()


def hub_of(app: web.Application, store: PostgresEventStore, dsn: str | None) -> Hub:
    """The application's hub (made on first use)."""
    found = _HUBS.get(app)
    if found is None:
        found = _HUBS[app] = Hub(store, dsn)
    return found
