"""Object writes appended together: the new versions that requests record at the same
time go to the log in one append of them all (one statement, one commit), as a database
shares one flush among commits.

At most `LANES` appends of this process are under way at once; a write that finds them
all busy waits for the next one, which carries every write then waiting (up to `LIMIT`
events; a stream only once). A write alone is appended at once, as before. Each write
keeps its own metadata and gets back its own events, and answers only once the append
that carries it committed, so a listing read after it shows it. The append is all or
nothing: if the database refuses it, each of its writes is appended again on its own, so
one write's failure (its container deleted meanwhile, a quota to enforce) is its alone.
The rows of an append's new versions are written in their usage slots' order
(migrations/0019), so concurrent appends never deadlock on them; writes of other object
events lock rows in their own order and are never batched.
"""

import asyncio
import weakref
from collections.abc import Sequence

import asyncpg

from events.errors import EventStoreError
from events.postgres import PostgresEventStore
from events.store import AppendResult, StreamAppend
from events.types import Metadata
from service.objects.projection import STORED_IN_ONE, TYPES, append

LANES = 2
"""Appends of batched writes under way at once: more shares fewer flushes; fewer keeps
connections of the pool free for everything else."""
LIMIT = 64
"""Events in one append at most."""
_OTHER_WRITES = TYPES - STORED_IN_ONE.types
"""Object-storage events whose inline writes lock rows in their own order: never batched."""


class _Write:
    """One request's appends (each with the request's metadata), waiting to commit."""

    def __init__(self, appends: Sequence[StreamAppend], metadata: Metadata) -> None:
        self.appends = [
            StreamAppend(a.stream_id, a.events, a.expected_version, metadata) for a in appends
        ]
        self.metadata = metadata
        self.streams = {a.stream_id for a in appends}
        self.size = sum(len(a.events) for a in appends)
        self.done: asyncio.Future[AppendResult] = asyncio.get_running_loop().create_future()


class Batcher:
    """Appends the object writes of one store, several at a time (see the module)."""

    def __init__(self, store: PostgresEventStore) -> None:
        self._store = store
        self._waiting: list[_Write] = []
        self._free = LANES
        self._tasks: set[asyncio.Task[None]] = set()

    async def append(self, appends: Sequence[StreamAppend], metadata: Metadata) -> AppendResult:
        """The events of `appends` (with `metadata`) once committed; raises what their
        append alone raises (service/objects/projection.py `append`). Writes of other
        object events than new versions are appended alone at once. Once handed over,
        an append is seen through: a cancelled caller still waits for its outcome, so
        that it never deletes bytes a committed event refers to."""
        if any(e.type_name() in _OTHER_WRITES for a in appends for e in a.events):
            return await append(self._store, appends, metadata)
        write = _Write(appends, metadata)
        self._waiting.append(write)
        self._start()
        try:
            return await asyncio.shield(write.done)
        except asyncio.CancelledError:
            if write.done.cancelled():
                raise
            await asyncio.wait([write.done])
            return write.done.result()

    def _start(self) -> None:
        while self._free and self._waiting:
            self._free -= 1
            task = asyncio.get_running_loop().create_task(self._run(self._take()))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _take(self) -> list[_Write]:
        """The waiting writes for one append, oldest first: a stream once, LIMIT events."""
        taken: list[_Write] = []
        streams: set[str] = set()
        size = 0
        left = []
        for write in self._waiting:
            if (taken and size + write.size > LIMIT) or not streams.isdisjoint(write.streams):
                left.append(write)
                continue
            taken.append(write)
            streams |= write.streams
            size += write.size
        self._waiting = left
        return taken

    async def _run(self, writes: list[_Write]) -> None:
        try:
            if len(writes) > 1:
                await self._together(writes)
            else:
                await self._alone(writes[0])
        except BaseException:
            for write in writes:
                write.done.cancel()  # only those not settled: the task itself was cancelled
            raise
        finally:
            self._free += 1
            self._start()

    async def _together(self, writes: list[_Write]) -> None:
        try:
            result = await self._store.append_streams(
                [a for w in writes for a in w.appends], fused=STORED_IN_ONE
            )
        except (asyncpg.PostgresError, EventStoreError):
            # Refused by the database: nothing of it holds (another error, a lost
            # connection say, leaves the outcome unknown, as for any append).
            await asyncio.gather(*(self._alone(w) for w in writes))
            return
        except Exception as error:
            for write in writes:
                write.done.set_exception(error)
            return
        for write in writes:
            events = tuple(e for e in result.events if e.stream_id in write.streams)
            write.done.set_result(AppendResult(events))

    async def _alone(self, write: _Write) -> None:
        """Append one write on its own and hand over its outcome."""
        try:
            result = await append(self._store, write.appends, write.metadata)
        except Exception as error:
            write.done.set_exception(error)
        else:
            write.done.set_result(result)


_batchers: "weakref.WeakKeyDictionary[PostgresEventStore, Batcher]" = weakref.WeakKeyDictionary()


def batcher(store: PostgresEventStore) -> Batcher:
    """The store's batcher (made on first use)."""
    found = _batchers.get(store)
    if found is None:
        found = _batchers[store] = Batcher(store)
    return found
