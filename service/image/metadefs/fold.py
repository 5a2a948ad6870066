"""The metadefs read model's rows as pure folds of their streams (projections/rows.py):
rm_metadef_namespaces' row of one `metadef-<uuid>` stream, with the namespace's objects,
properties, tags and resource type associations in JSON columns, and
rm_metadef_resource_types' row of one `metadefrt-<name>` stream.

Every namespace event sets the row's `version` to its stream version; only the
namespace's own update moves its `updated_at` (its contents carry their own times, in
Glance's text form, as Glance keeps them in rows of their own).
"""

from datetime import UTC, datetime
from typing import Any

from events.types import RecordedEvent
from projections.rows import Row, set_fields
from service.image.metadefs import events as ev

JSON_COLUMNS = ("objects", "properties", "tags", "resource_types")


def stamp(at: datetime) -> str:
    """Glance's timestamp: UTC to the second, with a Z."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _item(fields: dict[str, Any], at: str, created: str | None = None) -> dict[str, Any]:
    """A named member of a namespace: its set fields (None ones left out), its times."""
    kept = {k: list(v) if isinstance(v, tuple) else v for k, v in fields.items() if v is not None}
    return kept | {"created_at": created or at, "updated_at": at}


def _without(items: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [i for i in items if i["name"] != name]


def _replaced(items: list[dict[str, Any]], name: str, fields: dict[str, Any], at: str) -> Any:
    """`items` with the one called `name` made of `fields`, in its place."""
    return [_item(fields, at, i["created_at"]) if i["name"] == name else i for i in items]


def _renamed_property(properties: dict[str, Any], e: ev.MetadefPropertyUpdated) -> Any:
    return {
        (e.new_name if name == e.name else name): (e.schema if name == e.name else schema)
        for name, schema in properties.items()
    }


def _contents(row: Row, event: Any, at: str) -> dict[str, Any]:
    """The JSON columns an event about the namespace's contents changes."""
    match event:
        case ev.MetadefObjectCreated():
            fields = set_fields(event, exclude={"namespace_id"})
            return {"objects": [*row["objects"], _item(fields, at)]}
        case ev.MetadefObjectUpdated():
            fields = set_fields(event, exclude={"namespace_id", "name", "new_name"})
            fields = {"name": event.new_name, **fields}
            return {"objects": _replaced(row["objects"], event.name, fields, at)}
        case ev.MetadefObjectDeleted(name=name):
            return {"objects": _without(row["objects"], name)}
        case ev.MetadefPropertyCreated():
            return {"properties": {**row["properties"], event.name: event.schema}}
        case ev.MetadefPropertyUpdated():
            return {"properties": _renamed_property(row["properties"], event)}
        case ev.MetadefPropertyDeleted(name=name):
            return {"properties": {k: v for k, v in row["properties"].items() if k != name}}
        case ev.MetadefTagCreated(name=name):
            return {"tags": [*row["tags"], _item({"name": name}, at)]}
        case ev.MetadefTagRenamed():
            return {"tags": _replaced(row["tags"], event.name, {"name": event.new_name}, at)}
        case ev.MetadefTagDeleted(name=name):
            return {"tags": _without(row["tags"], name)}
        case ev.MetadefResourceTypeAssociated():
            fields = set_fields(event, exclude={"namespace_id"})
            return {"resource_types": [*row["resource_types"], _item(fields, at)]}
        case ev.MetadefResourceTypeDissociated(name=name):
            return {"resource_types": _without(row["resource_types"], name)}
    return {}


def namespace(row: Row | None, recorded: RecordedEvent) -> Row | None:
    """rm_metadef_namespaces' row after one event of the namespace's stream."""
    event = recorded.event
    at = recorded.recorded_at
    if isinstance(event, ev.MetadefNamespaceCreated):
        contents: dict[str, Any] = {"objects": [], "properties": {}, "tags": []}
        return (
            set_fields(event, exclude={"namespace_id"})
            | contents
            | {"resource_types": [], "id": event.namespace_id, "version": recorded.version}
            | {"created_at": at, "updated_at": at}
        )
    if row is None or isinstance(event, ev.MetadefNamespaceDeleted):
        return None
    if isinstance(event, ev.MetadefNamespaceUpdated):
        changes = set_fields(event, exclude={"namespace_id"}) | {"updated_at": at}
    else:
        changes = _contents(row, event, stamp(at))
    return row | changes | {"version": recorded.version}


def resource_type(row: Row | None, recorded: RecordedEvent) -> Row | None:
    """rm_metadef_resource_types' row after one event of the resource type's stream; its
    `position` (of its creation in the log) orders the list as Glance's creation order."""
    event = recorded.event
    if isinstance(event, ev.MetadefResourceTypeCreated):
        at = recorded.recorded_at
        return {
            "name": event.name,
            "protected": event.protected,
            "position": recorded.position,
            "created_at": at,
            "updated_at": at,
        }
    return row
