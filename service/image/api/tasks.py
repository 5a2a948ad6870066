"""Glance's tasks: `POST /v2/tasks`, `GET /v2/tasks`, `GET /v2/tasks/{id}` (an operator's
API: admin only, as Glance's `tasks_api_access` default), and `GET /v2/images/{id}/tasks`
(Glance 2.12).

A task of type `import` creates an image from `input.image_properties` and imports the
bytes at `input.import_from` into it by web-download (service/image/importer.py): its
status is `pending`, then `processing`, then `success` (`result.image_id`) or `failure`
(`message`), as its import ends (service/image/task_projection.py). A URL the
web-download may not fetch is refused at once (400), as newer Glance does.

An image's tasks are its imports: one started by `POST /v2/tasks` is that task; any
other (`POST /v2/images/{id}/import` with web-download) is shown as Glance shows its
`api_image_import` task, `processing` until the importer activates the image or gives
it back to `queued`.
"""

from datetime import datetime
from typing import Any

import msgspec
from aiohttp import web

from events.store import NO_STREAM
from events.types import RecordedEvent
from service.auth import caller
from service.errors import ApiError, BadRequest, NotFound
from service.http.body import converted, json_response, read_json
from service.http.recording import new_uuid, record, store
from service.image import events as ev
from service.image import task_events as tev
from service.image.api.common import enforce, must_see, stream
from service.image.api.images import new_image, new_image_attributes
from service.image.api.imports import check_download_url, start_web_download
from service.image.views import isotime

routes = web.RouteTableDef()
TASK_TYPES = ("import",)
SORT_KEYS = ("created_at", "updated_at", "id", "status", "type")
DEFAULT_LIMIT = 25
MAX_LIMIT = 1000


class TaskRequest(msgspec.Struct, frozen=True):
    type: str
    input: dict[str, Any]


class ImportInput(msgspec.Struct, frozen=True):
    """An `import` task's input."""

    import_from: str
    import_from_format: str
    image_properties: dict[str, Any]


class Task(msgspec.Struct, frozen=True):
    """A row of rm_image_tasks."""

    id: str
    type: str
    status: str
    owner: str | None
    user_id: str | None
    request_id: str | None
    image_id: str
    input: dict[str, Any]
    message: str
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None


COLUMNS = ", ".join(Task.__struct_fields__)


def task_stream(task_id: str) -> str:
    return f"task-{task_id}"


@routes.post("/v2/tasks")
async def create_task(request: web.Request) -> web.Response:
    """201 with the task, `pending` or already `processing`; a failure to create its image
    or start its import makes it `failure` with the reason, as Glance's task would."""
    enforce(caller(request), "image:tasks_api_access")
    body = await read_json(request, TaskRequest)
    if body.type not in TASK_TYPES:
        raise BadRequest(f"Task type {body.type!r} is not supported; use one of: import.")
    wanted = converted(body.input, ImportInput)
    new_image_attributes(caller(request), wanted.image_properties)
    await check_download_url(request, wanted.import_from)
    task_id, image_id = new_uuid(request), new_uuid(request)
    created = tev.TaskCreated(
        task_id=task_id,
        type=body.type,
        owner=caller(request).project_id,
        input=body.input,
        image_id=image_id,
    )
    recorded = await record(request, task_stream(task_id), [created], NO_STREAM)
    try:
        image = await new_image(request, image_id, dict(wanted.image_properties))
        started = ev.ImageImportStarted(
            image_id=image_id, method="web-download", uri=wanted.import_from, task_id=task_id
        )
        await start_web_download(request, image, started)
    except ApiError as error:
        failed = tev.TaskFailed(task_id=task_id, message=error.message)
        await record(
            request, task_stream(task_id), [failed], recorded.version_of(task_stream(task_id))
        )
    task = await _task_row(request, task_id)
    return json_response(_view(task), status=201, headers={"Location": f"/v2/tasks/{task_id}"})


@routes.get("/v2/tasks")
async def list_tasks(request: web.Request) -> web.Response:
    """The tasks, newest first by default, without their input and result (as Glance
    lists them); filters `status` and `type`, `sort_key`, `sort_dir`, `limit`, `marker`."""
    enforce(caller(request), "image:tasks_api_access")
    query = request.query
    sort_key = query.get("sort_key", "created_at")
    if sort_key not in SORT_KEYS:
        raise BadRequest(f"Invalid sort_key {sort_key!r}; use one of: {', '.join(SORT_KEYS)}.")
    sort_dir = query.get("sort_dir", "desc")
    if sort_dir not in ("asc", "desc"):
        raise BadRequest(f"Invalid sort direction {sort_dir!r}; use asc or desc.")
    limit = _limit(query.get("limit"))
    where, args = ["true"], []
    for name in ("status", "type"):
        if name in query:
            args.append(query[name])
            where.append(f"{name} = ${len(args)}")
    order = ">" if sort_dir == "asc" else "<"
    if "marker" in query:
        marker = await _task_row(request, query["marker"], BadRequest)
        args += [getattr(marker, sort_key), marker.id]
        where.append(f"({sort_key}, id) {order} (${len(args) - 1}, ${len(args)})")
    rows = await store(request).pool.fetch(
        f"SELECT {COLUMNS} FROM rm_image_tasks WHERE {' AND '.join(where)}"
        f" ORDER BY {sort_key} {sort_dir}, id {sort_dir} LIMIT {limit + 1}",
        *args,
    )
    tasks = [_task(row) for row in rows]
    page: dict[str, Any] = {
        "tasks": [_listed(task) for task in tasks[:limit]],
        "first": "/v2/tasks",
        "schema": "/v2/schemas/tasks",
    }
    if len(tasks) > limit:
        page["next"] = f"/v2/tasks?marker={tasks[limit - 1].id}&limit={limit}"
    return json_response(page)


@routes.get("/v2/tasks/{task_id}")
async def show_task(request: web.Request) -> web.Response:
    enforce(caller(request), "image:tasks_api_access")
    return json_response(_view(await _task_row(request, request.match_info["task_id"])))


async def _task_row(request: web.Request, task_id: str, missing: type[ApiError] = NotFound) -> Task:
    row = await store(request).pool.fetchrow(
        f"SELECT {COLUMNS} FROM rm_image_tasks WHERE id = $1", task_id
    )
    if row is None:
        raise missing(f"Could not find task {task_id}")
    return _task(row)


def _task(row: Any) -> Task:
    record = dict(row)
    record["input"] = msgspec.json.decode(record["input"])
    return msgspec.convert(record, Task)


def _limit(value: str | None) -> int:
    if value is None:
        return DEFAULT_LIMIT
    try:
        limit = int(value)
    except ValueError:
        limit = -1
    if limit < 0:
        raise BadRequest(f"Invalid limit {value!r}: a non-negative integer is required.")
    return min(limit, MAX_LIMIT)


def _listed(task: Task) -> dict[str, Any]:
    """A task as Glance lists it."""
    shown: dict[str, Any] = {
        "id": task.id,
        "type": task.type,
        "status": task.status,
        "owner": task.owner,
        "created_at": isotime(task.created_at),
        "updated_at": isotime(task.updated_at),
        "self": f"/v2/tasks/{task.id}",
        "schema": "/v2/schemas/task",
    }
    if task.expires_at is not None:
        shown["expires_at"] = isotime(task.expires_at)
    return shown


def _view(task: Task) -> dict[str, Any]:
    """A task as Glance shows it, with its input, result and message."""
    return _listed(task) | {
        "input": task.input,
        "result": {"image_id": task.image_id} if task.status == "success" else None,
        "message": task.message,
        "image_id": task.image_id,
        "request_id": task.request_id,
        "user_id": task.user_id,
    }


def _import_task(
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
        "id": event.task_id or str(started.event_id),
        "type": "import" if event.task_id else "api_image_import",
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
        _import_task(recorded, recorded.event, events[i + 1 :])
        for i, recorded in enumerate(events)
        if isinstance(recorded.event, ev.ImageImportStarted)
    ]
    return json_response({"tasks": tasks})
