"""The object-storage rows each stream owns, as pure folds (projections/rows.py):
rm_swift_containers' row of `container-<uuid>` (its metadata; its usage, the sums over
its objects' rows, is kept in slots by the projection from object events) and
rm_swift_objects' row of `object-<uuid>` (the object's current version)."""

from events.types import RecordedEvent
from projections.rows import Row
from service.objects import events as ev

JSON_COLUMNS = ("metadata",)


def merged(
    metadata: dict[str, str], set_: dict[str, str], removed: tuple[str, ...]
) -> dict[str, str]:
    """`metadata` without the `removed` names, then with `set_`."""
    return {k: v for k, v in metadata.items() if k not in removed} | set_


def container(row: Row | None, recorded: RecordedEvent) -> Row | None:
    """The container's row after one event of its stream (a repeated creation of an
    existing container changes nothing)."""
    at = recorded.recorded_at
    match recorded.event:
        case ev.ContainerCreated() as e if row is None:
            return {
                "project_id": e.project_id,
                "name": e.container,
                "metadata": dict(e.metadata),
                "created_at": at,
                "updated_at": at,
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
    return row
