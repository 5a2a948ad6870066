"""rm_images' row of one image, as a pure fold of its `image-<id>` stream
(projections/rows.py): the inline projection writes it, time travel rebuilds it.

Every event sets the row's `version` to its stream version. Member events change the
version only: members are not the image's own attributes, so Glance leaves its
`updated_at` alone (the members themselves live in rm_image_members).
"""

from typing import Any

from events.types import Event, RecordedEvent
from projections.rows import Row, set_fields
from service.image import events as ev

JSON_COLUMNS = ("properties",)
_DATA = ("size", "virtual_size", "checksum", "os_hash_algo", "os_hash_value", "location")


def _created(recorded: RecordedEvent, e: ev.ImageCreated) -> Row:
    at = recorded.recorded_at
    fields = set_fields(e, exclude={"image_id"})
    return (
        fields
        | dict.fromkeys(_DATA)
        | {
            "id": e.image_id,
            "version": recorded.version,
            "status": "queued",
            "tags": list(e.tags),
            "created_at": at,
            "updated_at": at,
        }
    )


def _changes(row: Row, event: Event) -> dict[str, Any] | None:
    """The attributes an event changes; None for member events (version only)."""
    match event:
        case ev.ImageUpdated() as e:
            changes = set_fields(e, exclude={"image_id"})
            if "tags" in changes:
                changes["tags"] = list(changes["tags"])
            return changes
        case ev.ImageTagAdded(tag=tag):
            return {"tags": [t for t in row["tags"] if t != tag] + [tag]}
        case ev.ImageTagRemoved(tag=tag):
            return {"tags": [t for t in row["tags"] if t != tag]}
        case ev.ImageUploadStarted():
            return {"status": "saving"}
        case ev.ImageUploadAborted():
            return {"status": "queued", "location": None}
        case ev.ImageStageStarted():
            return {"status": "uploading"}
        case ev.ImageImportStarted():
            return {"status": "importing"}
        case ev.ImageStaged(location=location):
            return {"location": location}
        case ev.ImageActivated() as e:
            return {"status": "active"} | set_fields(e, exclude={"image_id"})
        case ev.ImageDeactivated():
            return {"status": "deactivated"}
        case ev.ImageReactivated():
            return {"status": "active"}
    return None


def image(row: Row | None, recorded: RecordedEvent) -> Row | None:
    """rm_images' row after one event of the image's stream."""
    event = recorded.event
    if isinstance(event, ev.ImageCreated):
        return _created(recorded, event)
    if row is None or isinstance(event, ev.ImageDeleted):
        return None
    changes = _changes(row, event)
    if changes is None:
        return row | {"version": recorded.version}
    return row | changes | {"version": recorded.version, "updated_at": recorded.recorded_at}
