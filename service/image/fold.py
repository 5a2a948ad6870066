"""rm_images' row of one image, as a pure fold of its `image-<id>` stream
(projections/rows.py): the inline projection writes it, time travel rebuilds it.

Every event sets the row's `version` to its stream version. `stores` lists, sorted, the
stores holding the bytes; a copy-image import shows its progress as Glance does, in the
`os_glance_importing_to_stores` and `os_glance_failed_import` properties (comma-separated
store ids), which an import that skipped a failed store sets too. Member events change the
version only: members are not the image's own attributes, so Glance leaves its
`updated_at` alone (the members themselves live in rm_image_members).
"""

from collections.abc import Collection
from typing import Any

from events.types import Event, RecordedEvent
from projections.rows import Row, set_fields
from service.image import events as ev

JSON_COLUMNS = ("properties",)
_DATA = ("size", "virtual_size", "checksum", "os_hash_algo", "os_hash_value", "location")
IMPORTING = "os_glance_importing_to_stores"
FAILED = "os_glance_failed_import"


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
            "stores": [],
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
            return {"status": "queued", "location": None, "stores": []}
        case ev.ImageStageStarted():
            return {"status": "uploading"}
        case ev.ImageImportStarted():
            return {"status": "importing"}
        case ev.ImageStaged(location=location):
            return {"location": location}
        case ev.ImageActivated() as e:
            data = set_fields(e, exclude={"image_id", "stores", "failed_stores"})
            changes = {"status": "active", "stores": sorted(set(e.stores))} | data
            if e.failed_stores:
                changes["properties"] = row["properties"] | {FAILED: ",".join(e.failed_stores)}
            return changes
        case ev.ImageCopyStarted(stores=stores):
            return _progress(row, importing=stores)
        case ev.ImageCopiedToStore(store=store):
            return {"stores": sorted({*row["stores"], store})} | _progress(row, done=[store])
        case ev.ImageCopyFailed(store=store):
            return _progress(row, done=[store], failed=[store])
        case ev.ImageRemovedFromStore(store=store):
            return {"stores": [s for s in row["stores"] if s != store]}
        case ev.ImageDeactivated():
            return {"status": "deactivated"}
        case ev.ImageReactivated():
            return {"status": "active"}
    return None


def _progress(
    row: Row,
    *,
    importing: Collection[str] = (),
    done: Collection[str] = (),
    failed: Collection[str] = (),
) -> dict[str, Any]:
    """The copy-image properties: `importing` stores added to those importing (and no
    longer failed), `done` ones no longer importing, `failed` ones added to the failed."""
    properties = row["properties"]
    now = ({*_listed(properties, IMPORTING), *importing}) - set(done)
    bad = ({*_listed(properties, FAILED)} - set(importing)) | set(failed)
    listed = {IMPORTING: ",".join(sorted(now)), FAILED: ",".join(sorted(bad))}
    return {"properties": properties | listed}


def _listed(properties: dict[str, str], name: str) -> list[str]:
    return [s for s in properties.get(name, "").split(",") if s]


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
