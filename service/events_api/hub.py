"""One follower of the log per application, fanning each read of new events out to every
live subscriber of the stream (sse.py).

The hub follows the whole log once (one LISTEN connection, one read at a time, one owner
lookup and one encoding per event, however many subscribers there are), reading at most
once a period (sse.py's StreamOptions), so that a busy log goes out in larger reads and
the hub's reads and writes a second stay bounded however fast the log grows.
Subscribers with the same filter and visibility form a group: the events of a read that
a group wants and may see are chosen, encoded and joined once for all its members. A
member whose connection has taken everything so far is written to directly, one write
a read, without waking its task; the others get the read queued, and a member that
falls more than its buffer behind is dropped (told by `dropped`), so no subscriber slows
the hub, the writers or the others. It runs while it has subscribers.
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

    def key(self) -> tuple[object, ...]:
        """Equal for two filters that want the same events: everything `wants` reads (of
        the caller, only what `may_read` reads, and nothing of it for an admin)."""
        who = None if self.admin else (self.auth.user_id, self.auth.project_id)
        return (
            None if self.types is None else tuple(self.types),
            None if self.categories is None else tuple(self.categories),
            self.project_id,
            self.admin,
            who,
        )


def frame(recorded: RecordedEvent) -> bytes:
    """One event as an SSE message."""
    data = msgspec.json.encode(to_doc(recorded))
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (recorded.position, recorded.type.encode(), data)


def chunk(data: bytes) -> bytes:
    """`data` as one chunk of an HTTP/1.1 chunked body: the form the hub writes straight
    to a subscriber's connection."""
    return b"%x\r\n%s\r\n" % (len(data), data)


class Subscriber:
    """A subscriber's place at the hub: what it wants, where it is, and the frames handed
    to it that its task has not written yet.

    While `transport` is set (by its task, once nothing is pending), the hub writes to it
    directly; the hub unsets it when the connection's buffer is not empty (the client
    reads slower than events come), and queues instead."""

    def __init__(self, wanted: Filter, size: int, joined_at: int, after: int | None) -> None:
        self.wanted = wanted
        self.size = size
        self.joined_at = joined_at
        self.last = joined_at if after is None else max(joined_at, after)
        """The position of the last event handed to the subscriber (written or pending)."""
        self.pending: list[bytes] = []
        self.behind = 0
        """Events in `pending`."""
        self.dropped = False
        self.transport: asyncio.Transport | None = None
        self.ready = asyncio.Event()
        """Set when something is pending or the subscriber was dropped."""

    def offer(self, last: int, count: int, data: bytes, chunked: bytes) -> bool:
        """Hand over `count` frames joined in `data` (`chunked`: as one HTTP chunk), up to
        position `last`: written at once if the connection takes them, else queued.
        False (and `dropped`) when the queue would exceed the subscriber's size, or the
        connection is closing."""
        transport = self.transport
        if transport is not None:
            if transport.is_closing():
                self.end()
                return False
            if not transport.get_write_buffer_size():
                transport.write(chunked)
                self.last = last
                return True
            self.transport = None
        if self.behind + count > self.size:
            self.end()
            return False
        self.pending.append(data)
        self.behind += count
        self.last = last
        self.ready.set()
        return True

    def take(self) -> bytes:
        """The pending frames, joined; nothing is pending afterwards."""
        data = b"".join(self.pending)
        self.pending.clear()
        self.behind = 0
        self.ready.clear()
        return data

    def end(self) -> None:
        """Tell the subscriber no more will come."""
        self.dropped = True
        self.transport = None
        self.ready.set()


class Group:
    """The subscribers whose filters have one key: they are sent the same frames."""

    def __init__(self, wanted: Filter) -> None:
        self.wanted = wanted
        self.members: set[Subscriber] = set()

    def choose(self, batch: Sequence[RecordedEvent], owners: Sequence[str | None]) -> list[int]:
        """The indexes in `batch` of the events the group wants and may see."""
        wants = self.wanted.wants
        return [i for i, recorded in enumerate(batch) if wants(recorded, owners[i])]


class Hub:
    """The log followed once for every live subscriber of one application."""

    def __init__(self, store: PostgresEventStore, dsn: str | None, period: float) -> None:
        self.store = store
        self.dsn = dsn
        self.period = period
        self.owners = Owners(store)
        self.position = 0
        self._groups: dict[tuple[object, ...], Group] = {}
        self._task: asyncio.Task[None] | None = None
        self._starting = asyncio.Lock()

    async def join(self, wanted: Filter, size: int, after: int | None = None) -> Subscriber:
        """A new subscriber, handed every event after the hub's position (and after
        `after`) from now on, at most `size` of them pending; the follower starts at the
        head of the log if it was not running."""
        async with self._starting:
            if self._task is None or self._task.done():
                self.position = await self.store.head_position()
                self._task = asyncio.create_task(self._run(self.position))
        subscriber = Subscriber(wanted, size, self.position, after)
        key = wanted.key()
        group = self._groups.get(key) or self._groups.setdefault(key, Group(wanted))
        group.members.add(subscriber)
        return subscriber

    def leave(self, subscriber: Subscriber) -> None:
        """Forget a subscriber; the last one to leave stops the follower."""
        self._discard(subscriber)
        if not self._groups and self._task is not None:
            self._task.cancel()
            self._task = None

    def _discard(self, subscriber: Subscriber) -> None:
        key = subscriber.wanted.key()
        group = self._groups.get(key)
        if group is not None:
            group.members.discard(subscriber)
            if not group.members:
                del self._groups[key]

    async def _run(self, after: int) -> None:
        loop = asyncio.get_running_loop()
        try:
            batches = follow_batches(self.store, self.dsn, after)
            async with contextlib.aclosing(batches):
                asked = loop.time()
                async for batch in batches:
                    await self.owners.learn(batch)
                    self._deliver(batch, [await self.owners.of(r) for r in batch])
                    # What commits meanwhile goes out with the next read, a period on.
                    await asyncio.sleep(asked + self.period - loop.time())
                    asked = loop.time()
        except Exception:
            if not self.store.pool.is_closing():  # else the service is stopping
                log.exception("the events stream's follower failed; its subscribers are ended")
            for group in self._groups.values():
                for subscriber in group.members:
                    subscriber.end()
            self._groups.clear()

    def _deliver(self, batch: Sequence[RecordedEvent], owners: Sequence[str | None]) -> None:
        """Hand each group's members the events of `batch` it wants (each event encoded
        once however many groups want it); forget those dropped."""
        frames: dict[int, bytes] = {}
        for group in list(self._groups.values()):
            chosen = group.choose(batch, owners)
            if not chosen:
                continue
            for i in chosen:
                if i not in frames:
                    frames[i] = frame(batch[i])
            data = b"".join([frames[i] for i in chosen])
            chunked = chunk(data)
            first, last = batch[chosen[0]].position, batch[chosen[-1]].position
            for subscriber in list(group.members):
                if subscriber.last < first:
                    taken = subscriber.offer(last, len(chosen), data, chunked)
                else:  # it resumed after some of these: only those after its place
                    later = [i for i in chosen if batch[i].position > subscriber.last]
                    joined = b"".join([frames[i] for i in later])
                    taken = not later or subscriber.offer(last, len(later), joined, chunk(joined))
                if not taken:
                    self._discard(subscriber)
        self.position = batch[-1].position


_HUBS: "weakref.WeakKeyDictionary[web.Application, Hub]" = weakref.WeakKeyDictionary()


def hub_of(app: web.Application, store: PostgresEventStore, dsn: str | None, period: float) -> Hub:
    """The application's hub (made on first use, reading the log at most once every
    `period` seconds)."""
    found = _HUBS.get(app)
    if found is None:
        found = _HUBS[app] = Hub(store, dsn, period)
    return found
