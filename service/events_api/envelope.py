"""An event as the events API shows it to users: where it sits in the log, who caused
it and why, and its data without the tag and without any field that carries a secret."""

from datetime import UTC, datetime
from typing import Any

import msgspec

from events.types import Event, RecordedEvent

Json = dict[str, Any]


class ActorDoc(msgspec.Struct, frozen=True):
    user_id: str | None
    project_id: str | None
    roles: tuple[str, ...]


class EventDoc(msgspec.Struct, frozen=True):
    """One event of the log, safe to hand to its readers."""

    position: int
    version: int
    type: str
    time: str
    resource_type: str
    resource_id: str
    actor: ActorDoc
    request_id: str | None
    causation_id: str | None
    correlation_id: str | None
    data: Json


def rfc3339(value: datetime) -> str:
    """A UTC timestamp in RFC 3339 with microseconds and a Z."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def public_data(event: Event) -> Json:
    """The event's fields minus its tag and its `secret_fields` (if the type names any)."""
    data: Json = msgspec.to_builtins(event)
    data.pop(type(event).__struct_config__.tag_field or "", None)
    for name in getattr(event, "secret_fields", ()):
        data.pop(name, None)
    return data


def resource_of(stream_id: str) -> tuple[str, str]:
    """The resource type (stream category) and id of a stream named `category-id`."""
    category, _, resource_id = stream_id.partition("-")
    return category, resource_id


def to_doc(recorded: RecordedEvent) -> EventDoc:
    """The user-facing document of a recorded event; never fails."""
    meta = recorded.metadata
    resource_type, resource_id = resource_of(recorded.stream_id)
    return EventDoc(
        position=recorded.position,
        version=recorded.version,
        type=recorded.type,
        time=rfc3339(recorded.recorded_at),
        resource_type=resource_type,
        resource_id=resource_id,
        actor=ActorDoc(meta.actor.user_id, meta.actor.project_id, meta.actor.roles),
        request_id=meta.request_id,
        causation_id=meta.causation_id,
        correlation_id=meta.correlation_id,
        data=public_data(recorded.event),
    )
