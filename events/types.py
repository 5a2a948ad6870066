"""Event types, their metadata and the envelope a recorded event is read back in.

Every event type is a frozen msgspec Struct subclassing `Event`; its tag (the class
name unless given) is stored as the event's type and is never renamed: a breaking
change is a new type, or a new `schema_version` with an upcaster (events/codec.py).
New fields get defaults; the type of a field never changes.
"""

import uuid
from datetime import datetime
from typing import ClassVar

import msgspec


class Event(msgspec.Struct, frozen=True, kw_only=True, tag=True, tag_field="event_type"):
    """Base of every event type; subclasses register themselves by tag."""

    schema_version: ClassVar[int] = 1

    @classmethod
    def type_name(cls) -> str:
        """The tag stored in the log for this type."""
        tag = cls.__struct_config__.tag
        assert isinstance(tag, str)
        return tag

    @staticmethod
    def lookup(tag: str) -> type["Event"] | None:
        """The event type registered under `tag` (any imported subclass), or None."""
        found = _registry.get(tag)
        if found is None:
            _registry.clear()
            _registry.update(_walk(Event))
            found = _registry.get(tag)
        return found


_registry: dict[str, type[Event]] = {}


def _walk(base: type[Event]) -> dict[str, type[Event]]:
    """Every subclass of `base` by tag; raises TypeError when two share a tag."""
    found: dict[str, type[Event]] = {}
    for cls in base.__subclasses__():
        for tag, sub in [(cls.type_name(), cls), *_walk(cls).items()]:
            if found.setdefault(tag, sub) is not sub:
                raise TypeError(f"event tag {tag!r} is used by two types")
    return found


class Actor(msgspec.Struct, frozen=True, omit_defaults=True):
    """Who caused an event: a user acting in a project with roles, or the system."""

    user_id: str | None = None
    project_id: str | None = None
    domain_id: str | None = None
    roles: tuple[str, ...] = ()


SYSTEM = Actor(user_id="kumo-system", roles=("system",))


class Metadata(msgspec.Struct, frozen=True, omit_defaults=True):
    """What an event carries besides its data: who, which request, and why.

    `causation_id` is the id of the event (or request) that caused this one;
    `correlation_id` ties together everything that one user request set off.
    """

    actor: Actor = SYSTEM
    request_id: str | None = None
    causation_id: str | None = None
    correlation_id: str | None = None
    command_id: uuid.UUID | None = None


class RecordedEvent(msgspec.Struct, frozen=True):
    """An event as stored: its place in the log, its stream version, and metadata."""

    position: int
    stream_id: str
    version: int
    event_id: uuid.UUID
    type: str
    schema_version: int
    recorded_at: datetime
    metadata: Metadata
    event: Event

    @property
    def category(self) -> str:
        """The stream's category: the part of `category-id` before the first dash."""
        return category_of(self.stream_id)


def category_of(stream_id: str) -> str:
    """The category of a stream named `category-id`."""
    return stream_id.split("-", 1)[0]
