"""`GET /v2/images/{id}/tasks` (Glance 2.12): the image's imports as Glance shows its
import tasks. Kumo runs an import without a task resource of its own; each `web-download`
import in the image's stream is one task here: `processing` until the importer activates
the image (`success`) or gives it back to `queued` (`failure`, with the reason)."""

from typing import Any

from aiohttp import web

from events.types import RecordedEvent
from service.http.body import json_response
from service.http.recording import store
from service.image import events as ev
from service.image.api.common import must_see, stream
from service.image.views import isotime

routes = web.RouteTableDef()


def _task(
    started: RecordedEvent, event: ev.ImageImportStarted, later: list[RecordedEvent]
) -> dict[str, Any]:
    """One import's task document, from its ImageImportStarted and the events after it."""
    image_id = event.image_id
    status, message, updated = "processing", "", started.recorded_at
    for recorded in later:
        match recorded.event:
            case ev.ImageActivated():
                status, updated = "success", recorded.recorded_at
            case ev.ImageUploadAborted(reason=reason):
                status, message, updated = "failure", reason, recorded.recorded_at
            case _:
                continue
        break
    method = {"name": event.method, "uri": event.uri}
    return {
        "id": str(started.event_id),
        "type": "api_image_import",
        "status": status,
        "owner": started.metadata.actor.project_id,
        "user_id": started.metadata.actor.user_id,
        "request_id": started.metadata.request_id,
        "image_id": image_id,
        "input": {"image_id": image_id, "import_req": {"method": method}},
        "result": {"image_id": image_id} if status == "success" else None,
        "message": message,
        "created_at": isotime(started.recorded_at),
        "updated_at": isotime(updated),
        "expires_at": None,
    }


@routes.get("/v2/images/{image_id}/tasks")
async def image_tasks(request: web.Request) -> web.Response:
    image = await must_see(request, request.match_info["image_id"])
    events = await store(request).read_stream(stream(image.id))
    tasks = [
        _task(recorded, recorded.event, events[i + 1 :])
        for i, recorded in enumerate(events)
        if isinstance(recorded.event, ev.ImageImportStarted)
    ]
    return json_response({"tasks": tasks})
