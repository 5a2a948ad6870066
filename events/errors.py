"""Typed errors of the event store; driver errors are turned into these at the boundary."""


class EventStoreError(Exception):
    """Base of every event-store error."""


class WrongExpectedVersion(EventStoreError):
    """An append named a stream version that is not the stream's current one."""

    def __init__(self, stream_id: str, expected: int | str, actual: int) -> None:
        super().__init__(f"stream {stream_id} is at version {actual}, not the expected {expected}")
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual


class AppendNotFirstWrite(EventStoreError):
    """An append ran in a transaction that had already written something.

    The global order relies on a transaction getting its id inside the append's
    ordering lock (see migrations/0001_event_store.sql), so appends come first.
    """


class UnknownEventType(EventStoreError):
    """The log holds an event type that no code registers."""

    def __init__(self, type_name: str) -> None:
        super().__init__(f"no event type is registered under the tag {type_name!r}")
        self.type_name = type_name
