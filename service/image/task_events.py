"""Glance task events (`POST /v2/tasks`). One stream per task: `task-<id>`.

A task of type `import` creates its image and starts a web-download import of it in the
image's stream (ImageImportStarted naming the task); how the import ends (ImageActivated,
ImageUploadAborted, ImageDeleted) is how the task ends, so the task's own stream records
only its creation and a failure before its import could start.
"""

from typing import Any

from events.types import Event


class TaskCreated(Event, frozen=True):
    task_id: str
    type: str
    owner: str | None
    input: dict[str, Any]
    image_id: str
    """The image the task imports into, created by it."""


class TaskFailed(Event, frozen=True):
    """The task ended before its import started (its image could not be created or the
    import refused to start); `message` says why."""

    task_id: str
    message: str
