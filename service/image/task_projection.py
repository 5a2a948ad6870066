"""Glance tasks (rm_image_tasks of migrations/0038_image_tasks.sql), inline, a side of
the image catalog.

A task is `pending` from TaskCreated, `processing` once its import started in its
image's stream, and ends as its import ends: `success` when the image is activated,
`failure` when the import is aborted, the image deleted, or the task failed before its
import started. An ended task expires 48 hours later, as Glance's default
`task_time_to_live` has it (Kumo keeps it listed; `expires_at` says when Glance would
not).
"""

from datetime import timedelta
from typing import Any

import msgspec

from events.types import RecordedEvent
from service.image import events as ev
from service.image import task_events as tev

TIME_TO_LIVE = timedelta(hours=48)
_UNFINISHED = "status IN ('pending', 'processing')"


class ImageTasks:
    """Tasks with their status, from their own events and their images' imports: a side
    of the image catalog (service/image/projection.py), replayed event by event."""

    name: str = "image_tasks"
    tables: tuple[str, ...] = ("rm_image_tasks",)
    types: frozenset[str] | None = frozenset(
        cls.type_name()
        for cls in (
            tev.TaskCreated,
            tev.TaskFailed,
            ev.ImageImportStarted,
            ev.ImageActivated,
            ev.ImageUploadAborted,
            ev.ImageDeleted,
        )
    )

    async def apply(self, conn: Any, recorded: RecordedEvent) -> None:
        at = recorded.recorded_at
        match recorded.event:
            case tev.TaskCreated() as e:
                await conn.execute(
                    "INSERT INTO rm_image_tasks (id, type, status, owner, user_id, request_id,"
                    " image_id, input, created_at, updated_at)"
                    " VALUES ($1, $2, 'pending', $3, $4, $5, $6, $7, $8, $8)",
                    e.task_id,
                    e.type,
                    e.owner,
                    recorded.metadata.actor.user_id,
                    recorded.metadata.request_id,
                    e.image_id,
                    msgspec.json.encode(e.input),
                    at,
                )
            case tev.TaskFailed() as e:
                await _end(conn, "id = $1", e.task_id, "failure", e.message, at)
            case ev.ImageImportStarted(task_id=str(task_id)):
                await conn.execute(
                    "UPDATE rm_image_tasks SET status = 'processing', updated_at = $2"
                    " WHERE id = $1 AND status = 'pending'",
                    task_id,
                    at,
                )
            case ev.ImageActivated() as e:
                await _end(conn, "image_id = $1", e.image_id, "success", "", at)
            case ev.ImageUploadAborted() as e:
                await _end(conn, "image_id = $1", e.image_id, "failure", e.reason, at)
            case ev.ImageDeleted() as e:
                gone = "The image was deleted before its import finished."
                await _end(conn, "image_id = $1", e.image_id, "failure", gone, at)


async def _end(conn: Any, where: str, key: str, status: str, message: str, at: Any) -> None:
    """End the unfinished tasks `where` (with `key` as $1) with `status` and `message`."""
    await conn.execute(
        f"UPDATE rm_image_tasks SET status = $2, message = $3, updated_at = $4,"
        f" expires_at = $5 WHERE {where} AND {_UNFINISHED}",
        key,
        status,
        message,
        at,
        at + TIME_TO_LIVE,
    )
