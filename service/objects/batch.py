"""Object writes appended together: the new versions that requests record at the same
time go to the log in one append of them all (one statement, one commit), as a database
shares one flush among commits (service/objects/coalescer.py).

At most `LANES` appends are under way at once; the next carries every write then
waiting (up to `LIMIT` events; a stream only once); a write alone goes at once, as
before. Each write keeps its own metadata and gets back its own events, and answers
only once the append that carries it committed, so a listing read after it shows it.
The append is all or nothing: if the database refuses it, each of its writes is
appended again on its own, so one write's failure (its container deleted meanwhile, a
quota to enforce) is its alone; a write whose stream was not at the version it expected
fails at once, the others go again together.
The rows of an append's new versions are written in their usage slots' order
(migrations/0019), so concurrent appends never deadlock on them; writes of other object
events lock rows in their own order and are never batched.
"""

import weakref
from collections.abc import Sequence

import asyncpg
import msgspec

from events.errors import EventStoreError, WrongExpectedVersion
from events.postgres import PostgresEventStore
from events.store import AppendResult, StreamAppend
from events.types import Metadata
from service.objects.coalescer import Coalescer
from service.objects.projection import STORED_IN_ONE, TYPES, append

LANES = 2
"""Appends of batched writes under way at once: more shares fewer flushes; fewer keeps
connections of the pool free for everything else."""
LIMIT = 64
"""Events in one append at most."""
_OTHER_WRITES = TYPES - STORED_IN_ONE.types
"""Object-storage events whose inline writes lock rows in their own order: never batched."""


class _Write(msgspec.Struct, frozen=True):
    """One request's appends, each with the request's metadata."""

    appends: list[StreamAppend]
    metadata: Metadata
    streams: frozenset[str]
    size: int


def _fits(taken: list[_Write], write: _Write) -> bool:
    """A stream once in an append, LIMIT events at most."""
    return sum(w.size for w in taken) + write.size <= LIMIT and all(
        w.streams.isdisjoint(write.streams) for w in taken
    )


def _blame(error: Exception, taken: list[_Write]) -> int | None:
    """The write whose stream was not at the version it expected (a new object's, whose
    stream exists: service/objects/api/writes.py `put_new`): its own failure, whoever it
    was appended with, since a stream, once there, stays."""
    if isinstance(error, WrongExpectedVersion):
        for index, write in enumerate(taken):
            if error.stream_id in write.streams:
                return index
    return None


def _refused(error: Exception) -> bool:
    """The database refused the append: nothing of it holds, each write may go again
    (another error, a lost connection say, leaves the outcome unknown, as for any
    append)."""
    return isinstance(error, asyncpg.PostgresError | EventStoreError)


class Batcher:
    """Appends the object writes of one store, several at a time (see the module)."""

    def __init__(self, store: PostgresEventStore) -> None:
        self._store = store
        self._writes: Coalescer[_Write, AppendResult] = Coalescer(
            self._alone, self._together, lanes=LANES, fits=_fits, retry=_refused, blame=_blame
        )

    async def append(self, appends: Sequence[StreamAppend], metadata: Metadata) -> AppendResult:
        """The events of `appends` (with `metadata`) once committed; raises what their
        append alone raises (service/objects/projection.py `append`). Writes of other
        object events than new versions are appended alone at once. A cancelled caller
        still waits for the outcome, so that it never deletes bytes a committed event
        refers to."""
        if any(e.type_name() in _OTHER_WRITES for a in appends for e in a.events):
            return await append(self._store, appends, metadata)
        own = [StreamAppend(a.stream_id, a.events, a.expected_version, metadata) for a in appends]
        size = sum(len(a.events) for a in appends)
        write = _Write(own, metadata, frozenset(a.stream_id for a in appends), size)
        return await self._writes.call(write)

    async def _alone(self, write: _Write) -> AppendResult:
        return await append(self._store, write.appends, write.metadata)

    async def _together(self, writes: list[_Write]) -> list[AppendResult]:
        result = await self._store.append_streams(
            [a for w in writes for a in w.appends], fused=STORED_IN_ONE
        )
        return [
            AppendResult(tuple(e for e in result.events if e.stream_id in w.streams))
            for w in writes
        ]


_batchers: "weakref.WeakKeyDictionary[PostgresEventStore, Batcher]" = weakref.WeakKeyDictionary()


def batcher(store: PostgresEventStore) -> Batcher:
    """The store's batcher (made on first use)."""
    found = _batchers.get(store)
    if found is None:
        found = _batchers[store] = Batcher(store)
    return found
