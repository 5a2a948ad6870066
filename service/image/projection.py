"""The image catalog (rm_images, rm_image_members of migrations/0004_images.sql), inline.

Every image event sets the row's `version` to its stream version, so a handler that read
a row can append with that version expected and lose cleanly to a concurrent change.
"""

from typing import Any

import msgspec

from events.types import Event, RecordedEvent
from projections.rows import set_fields, update_row
from service.image import events as ev

_JSON_COLUMNS = ("properties",)


class ImageProjection:
    """Images with their status, properties, tags and data location; image members."""

    name: str = "images"
    tables: tuple[str, ...] = ("rm_images", "rm_image_members")
    types: frozenset[str] | None = frozenset(
        cls.type_name()
        for cls in vars(ev).values()
        if isinstance(cls, type)
        and issubclass(cls, Event)
        and cls not in (Event, ev.ImageQuotaClaimed)  # the quota stream's, no row of ours
    )

    async def apply(self, conn: Any, recorded: RecordedEvent) -> None:
        match recorded.event:
            case ev.ImageCreated() as e:
                await conn.execute(
                    "INSERT INTO rm_images (id, version, name, status, visibility, protected,"
                    " os_hidden, owner, container_format, disk_format, min_disk, min_ram, tags,"
                    " properties, created_at, updated_at) VALUES ($1, $2, $3, 'queued', $4, $5,"
                    " $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14, $14)",
                    e.image_id, recorded.version, e.name, e.visibility, e.protected, e.os_hidden,
                    e.owner, e.container_format, e.disk_format, e.min_disk, e.min_ram,
                    list(e.tags), msgspec.json.encode(e.properties), recorded.recorded_at,
                )  # fmt: skip
                return
            case ev.ImageUpdated() as e:
                await _touch(conn, recorded, set_fields(e, exclude=("image_id",)))
            case ev.ImageTagAdded() as e:
                await conn.execute(
                    "UPDATE rm_images SET tags = array_append(array_remove(tags, $2), $2)"
                    " WHERE id = $1",
                    e.image_id, e.tag,
                )  # fmt: skip
                await _touch(conn, recorded, {})
            case ev.ImageTagRemoved() as e:
                await conn.execute(
                    "UPDATE rm_images SET tags = array_remove(tags, $2) WHERE id = $1",
                    e.image_id, e.tag,
                )  # fmt: skip
                await _touch(conn, recorded, {})
            case ev.ImageUploadStarted():
                await _touch(conn, recorded, {"status": "saving"})
            case ev.ImageUploadAborted():
                await _touch(conn, recorded, {"status": "queued", "location": None})
            case ev.ImageStageStarted():
                await _touch(conn, recorded, {"status": "uploading"})
            case ev.ImageStaged() as e:
                await _touch(conn, recorded, {"location": e.location})
            case ev.ImageActivated() as e:
                await _touch(conn, recorded, {
                    "status": "active", "location": e.location, "size": e.size,
                    "checksum": e.checksum, "os_hash_algo": e.os_hash_algo,
                    "os_hash_value": e.os_hash_value,
                })  # fmt: skip
            case ev.ImageDeactivated():
                await _touch(conn, recorded, {"status": "deactivated"})
            case ev.ImageReactivated():
                await _touch(conn, recorded, {"status": "active"})
            case ev.ImageDeleted() as e:
                await conn.execute("DELETE FROM rm_images WHERE id = $1", e.image_id)
                await conn.execute("DELETE FROM rm_image_members WHERE image_id = $1", e.image_id)
            case ev.ImageMemberAdded() as e:
                await _bump(conn, recorded)
                await conn.execute(
                    "INSERT INTO rm_image_members VALUES ($1, $2, 'pending', $3, $3)",
                    e.image_id, e.member_id, recorded.recorded_at,
                )  # fmt: skip
            case ev.ImageMemberStatusChanged() as e:
                await _bump(conn, recorded)
                await conn.execute(
                    "UPDATE rm_image_members SET status = $3, updated_at = $4"
                    " WHERE image_id = $1 AND member_id = $2",
                    e.image_id, e.member_id, e.status, recorded.recorded_at,
                )  # fmt: skip
            case ev.ImageMemberRemoved() as e:
                await _bump(conn, recorded)
                await conn.execute(
                    "DELETE FROM rm_image_members WHERE image_id = $1 AND member_id = $2",
                    e.image_id, e.member_id,
                )  # fmt: skip


async def _touch(conn: Any, recorded: RecordedEvent, changes: dict[str, Any]) -> None:
    """Set `changes` on the event's image, with its new version and update time."""
    changes = {"version": recorded.version, "updated_at": recorded.recorded_at, **changes}
    await update_row(conn, "rm_images", _key(recorded), changes, json_columns=_JSON_COLUMNS)


async def _bump(conn: Any, recorded: RecordedEvent) -> None:
    """Advance the image's version only: members are not the image's own attributes, so
    Glance leaves its `updated_at` alone."""
    await update_row(conn, "rm_images", _key(recorded), {"version": recorded.version})


def _key(recorded: RecordedEvent) -> tuple[str, str]:
    return "id", getattr(recorded.event, "image_id")  # noqa: B009 - every image event has one
