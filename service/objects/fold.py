"""The object-storage rows each stream owns, as pure folds (projections/rows.py):
rm_swift_containers' row of `container-<uuid>` (its metadata; its usage, the sums over
its objects' rows, is kept in slots by the projection from object events),
rm_swift_objects' row of `object-<uuid>` (the object's current version) and its rows of
rm_swift_versions (its noncurrent versions and delete markers, `kept`)."""

import hashlib

import msgspec

from events.types import RecordedEvent
from projections.rows import Row
from service.objects import events as ev

JSON_COLUMNS = ("metadata",)
MARKER_TYPE = "application/x-deleted;swift_versions_deleted=1"
"""The content type of a delete marker, as Swift lists it."""
_EMPTY_MD5 = hashlib.md5(b"", usedforsecurity=False).hexdigest()


def merged(
    metadata: dict[str, str], set_: dict[str, str], removed: tuple[str, ...]
) -> dict[str, str]:
    """`metadata` without the `removed` names, then with `set_`."""
    return {k: v for k, v in metadata.items() if k not in removed} | set_


def container(row: Row | None, recorded: RecordedEvent) -> Row | None:
    """The container's row after one event of its stream (a repeated creation of an
    existing container changes nothing: its storage policy is its first one's)."""
    at = recorded.recorded_at
    match recorded.event:
        case ev.ContainerCreated() as e if row is None:
            return {
                "project_id": e.project_id,
                "name": e.container,
                "metadata": dict(e.metadata),
                "created_at": at,
                "updated_at": at,
                "storage_policy": e.storage_policy,
            }
        case ev.ContainerMetadataUpdated() as e if row is not None:
            return row | {"metadata": merged(row["metadata"], e.set, e.removed), "updated_at": at}
        case ev.ContainerDeleted():
            return None
    return row


def stored_object(row: Row | None, recorded: RecordedEvent) -> Row | None:
    """The object's row (its current version) after one event of its stream; a deletion
    of another version than the current one changes nothing."""
    at = recorded.recorded_at
    match recorded.event:
        case ev.ObjectStored() as e:
            return {
                "project_id": e.project_id,
                "container": e.container,
                "name": e.object,
                "version_id": e.version_id,
                "stream_version": recorded.version,
                "size": e.size,
                "etag": e.etag,
                "content_type": e.content_type,
                "metadata": dict(e.metadata),
                "large_object": e.large_object,
                "delete_at": e.delete_at,
                "created_at": at,
                "last_modified": at,
                "versioned": e.versioned,
            }
        case ev.ObjectMetadataUpdated() as e if row is not None:
            return row | {
                "content_type": e.content_type,
                "metadata": dict(e.metadata),
                "delete_at": e.delete_at,
                "stream_version": recorded.version,
                "last_modified": at,
            }
        case ev.ObjectDeleted(version_id=version_id) if row and row["version_id"] == version_id:
            return None
        case ev.ObjectVersionDeleted(version_id=version_id) if (
            row and row["version_id"] == version_id
        ):
            return None
    return row


class Kept(msgspec.Struct, frozen=True):
    """What one event of an object's stream does to its noncurrent versions."""

    added: list[Row] = []
    removed: str | None = None
    """The id of a noncurrent version gone for good."""


def _noncurrent(row: Row, sequence: int) -> Row:
    """A current version's row as a noncurrent one, from the event at `sequence` on:
    shown by its id and never expiring, as Swift keeps versions."""
    return row | {"delete_at": None, "versioned": True, "sequence": sequence, "marker": False}


def kept(current: Row | None, recorded: RecordedEvent) -> Kept:
    """The noncurrent versions an event of the object's stream adds or removes, given
    its current version before it: a replaced or deleted current version is kept when
    it or its replacement is versioned, or a delete marker is written."""
    sequence = recorded.version
    match recorded.event:
        case ev.ObjectStored(versioned=versioned) if current is not None and (
            versioned or current["versioned"]
        ):
            return Kept([_noncurrent(current, sequence)])
        case ev.ObjectDeleted(version_id=version_id, marker=marker) as e:
            added = []
            if current is not None and current["version_id"] == version_id:
                if marker or current["versioned"]:
                    added.append(_noncurrent(current, sequence))
            if marker:
                added.append(_marker(e, marker, recorded))
            return Kept(added)
        case ev.ObjectVersionDeleted(version_id=version_id):
            return Kept(removed=version_id)
    return Kept()


def _marker(e: ev.ObjectDeleted, version_id: str, recorded: RecordedEvent) -> Row:
    at = recorded.recorded_at
    return {
        "project_id": e.project_id,
        "container": e.container,
        "name": e.object,
        "version_id": version_id,
        "stream_version": recorded.version,
        "size": 0,
        "etag": _EMPTY_MD5,
        "content_type": MARKER_TYPE,
        "metadata": {},
        "large_object": "",
        "delete_at": None,
        "created_at": at,
        "last_modified": at,
        "versioned": True,
        "sequence": recorded.version,
        "marker": True,
    }


def versions(state: Row | None, recorded: RecordedEvent) -> Row:
    """For rebuilds: the object's current version and its noncurrent ones by id after one
    event of its stream (`kept_rows` gives the rows of rm_swift_versions)."""
    current = state["current"] if state else None
    held = dict(state["kept"]) if state else {}
    change = kept(current, recorded)
    if change.removed is not None:
        held.pop(change.removed, None)
    held.update((row["version_id"], row) for row in change.added)
    return {"current": stored_object(current, recorded), "kept": held}


def kept_rows(state: Row) -> list[Row]:
    """The rows of rm_swift_versions of a `versions` state."""
    return list(state["kept"].values())
