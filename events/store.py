"""The EventStore seam: what the rest of Kumo may ask of the log."""

import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Final, Literal, Protocol

import msgspec

from events.types import Event, Metadata, RecordedEvent

ANY: Final = "any"
"""Expected version meaning: append whatever the stream's version is."""
NO_STREAM: Final = 0
"""Expected version meaning: the stream must not exist yet."""

ExpectedVersion = int | Literal["any"]


class StreamAppend(msgspec.Struct, frozen=True):
    """Events for one stream, with the version the stream must be at."""

    stream_id: str
    events: Sequence[Event]
    expected_version: ExpectedVersion = ANY
    metadata: Metadata | None = None
    """Its events' metadata, when not the whole append's (appends of several requests
    made together; not with a command id)."""


class AppendResult(msgspec.Struct, frozen=True):
    """What an append recorded; `replayed` when a repeated command id wrote nothing."""

    events: tuple[RecordedEvent, ...]
    replayed: bool = False

    @property
    def last_position(self) -> int:
        return self.events[-1].position

    def version_of(self, stream_id: str) -> int:
        """The version `stream_id` reached in this append."""
        return max(e.version for e in self.events if e.stream_id == stream_id)


class EventStore(Protocol):
    """An append-only log of events in streams, with a global gap-safe order."""

    async def append(
        self,
        stream_id: str,
        events: Sequence[Event],
        expected_version: ExpectedVersion = ANY,
        *,
        metadata: Metadata | None = None,
        command_id: uuid.UUID | None = None,
    ) -> AppendResult:
        """Append events to one stream; raises WrongExpectedVersion on a mismatch."""
        ...

    async def append_streams(
        self,
        appends: Sequence[StreamAppend],
        *,
        metadata: Metadata | None = None,
        command_id: uuid.UUID | None = None,
    ) -> AppendResult:
        """Append to several streams atomically: all of them or none."""
        ...

    async def read_stream(
        self,
        stream_id: str,
        from_version: int = 1,
        until_position: int | None = None,
        limit: int | None = None,
    ) -> list[RecordedEvent]:
        """The stream's events from `from_version` on (at most `limit`), in version order."""
        ...

    async def read_all(
        self,
        after: int = 0,
        limit: int = 1000,
        *,
        types: Sequence[str] | None = None,
        categories: Sequence[str] | None = None,
        until: int | None = None,
    ) -> list[RecordedEvent]:
        """Up to `limit` committed events after position `after`, in position order."""
        ...

    def iter_all(
        self, after: int = 0, *, until: int | None = None, batch_size: int = 2000
    ) -> AsyncIterator[RecordedEvent]:
        """Every committed event after `after` (up to `until`), fetched in batches."""
        ...

    async def head_position(self) -> int:
        """The position of the last event a reader may see now (0 for an empty log)."""
        ...
