"""Objects this process knows to have a history: a hint for `put_new`
(service/objects/api/writes.py), which stores a PUT on condition that its object's stream
does not exist yet. Each such condition failing costs an append (and the appends made
with it, each again on its own): a name known to exist is put the usual way at once.
A hint only: a name not known here may still exist (the append's condition decides)."""

import weakref

from events.postgres import PostgresEventStore

SIZE = 16384
"""Streams remembered at most; the least recently added are forgotten first."""


class Known:
    """Object streams seen to exist, the last `SIZE` of them (read when adding)."""

    def __init__(self) -> None:
        self._streams: dict[str, None] = {}

    def __contains__(self, stream: str) -> bool:
        return stream in self._streams

    def add(self, stream: str) -> None:
        self._streams.pop(stream, None)
        self._streams[stream] = None
        if len(self._streams) > SIZE:
            del self._streams[next(iter(self._streams))]


_known: "weakref.WeakKeyDictionary[PostgresEventStore, Known]" = weakref.WeakKeyDictionary()


def known(store: PostgresEventStore) -> Known:
    """The store's objects known to exist (made on first use)."""
    found = _known.get(store)
    if found is None:
        found = _known[store] = Known()
    return found
