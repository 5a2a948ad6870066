"""The image catalog (rm_images, rm_image_members of migrations/0004_images.sql, and
rm_image_tasks of 0038_image_tasks.sql), inline.

The image's row follows its stream's fold (service/image/fold.py): every image event
sets its `version` to the stream version, so a handler that read a row can append with
that version expected and lose cleanly to a concurrent change.
"""

from typing import Any

from events.types import Event, RecordedEvent
from projections.bulk import FoldedTable, Sides
from projections.projection import Projection
from projections.rows import project_row
from service.image import events as ev
from service.image import fold
from service.image.fold import JSON_COLUMNS
from service.image.task_projection import ImageTasks


class ImageMembers:
    """rm_image_members, by the member events (and an image's deletion, which ends them)."""

    name: str = "image_members"
    tables: tuple[str, ...] = ("rm_image_members",)
    types: frozenset[str] | None = frozenset(
        cls.type_name()
        for cls in (
            ev.ImageDeleted,
            ev.ImageMemberAdded,
            ev.ImageMemberStatusChanged,
            ev.ImageMemberRemoved,
        )
    )

    async def apply(self, conn: Any, recorded: RecordedEvent) -> None:
        image_id = getattr(recorded.event, "image_id")  # noqa: B009 - every image event has one
        match recorded.event:
            case ev.ImageDeleted():
                await conn.execute("DELETE FROM rm_image_members WHERE image_id = $1", image_id)
            case ev.ImageMemberAdded() as e:
                await conn.execute(
                    "INSERT INTO rm_image_members VALUES ($1, $2, 'pending', $3, $3)",
                    image_id,
                    e.member_id,
                    recorded.recorded_at,
                )
            case ev.ImageMemberStatusChanged() as e:
                await conn.execute(
                    "UPDATE rm_image_members SET status = $3, updated_at = $4"
                    " WHERE image_id = $1 AND member_id = $2",
                    image_id,
                    e.member_id,
                    e.status,
                    recorded.recorded_at,
                )
            case ev.ImageMemberRemoved() as e:
                await conn.execute(
                    "DELETE FROM rm_image_members WHERE image_id = $1 AND member_id = $2",
                    image_id,
                    e.member_id,
                )


_SIDES = Sides("image_sides", ImageMembers(), ImageTasks())


class ImageProjection:
    """Images with their status, properties, tags and data location; image members;
    Glance tasks (service/image/task_projection.py)."""

    name: str = "images"
    tables: tuple[str, ...] = ("rm_images", *_SIDES.tables)
    types: frozenset[str] | None = frozenset(
        cls.type_name()
        for cls in vars(ev).values()
        if isinstance(cls, type)
        and issubclass(cls, Event)
        and cls not in (Event, ev.ImageQuotaClaimed)  # the quota stream's, no row of ours
    ) | (_SIDES.types or frozenset())
    folds: tuple[FoldedTable, ...] = (
        FoldedTable("rm_images", fold.image, frozenset({"image"}), JSON_COLUMNS),
    )
    side: Projection | None = _SIDES
    reads_bodies: bool = True

    async def apply(self, conn: Any, recorded: RecordedEvent) -> None:
        if recorded.category == "image":
            key = {"id": recorded.stream_id.removeprefix("image-")}
            await project_row(
                conn, "rm_images", key, fold.image, recorded, json_columns=JSON_COLUMNS
            )
        await _SIDES.apply(conn, recorded)
