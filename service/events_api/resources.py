"""`GET /events/v1/resources/{type}/{id}/history` and `GET /events/v1/resources/{type}/{id}`:
one resource's events, and the resource as it was at a moment, rebuilt from its stream."""

from aiohttp import web

from events.types import RecordedEvent
from service.auth import caller
from service.errors import NotFound
from service.events_api.access import may_read, owner_project
from service.events_api.envelope import to_doc
from service.events_api.moment import parse_moment, until
from service.events_api.replay import RENDERERS
from service.events_api.replay.scene import Scene
from service.http.body import json_response
from service.http.recording import base_url, store

routes = web.RouteTableDef()


async def readable_stream(
    request: web.Request, until_position: int | None = None
) -> list[RecordedEvent]:
    """The events of the path's resource, in version order (up to a position if given).
    Raises NotFound when the resource has no events or the caller may not read it (see
    access.py); Unauthorized without a valid token."""
    auth = caller(request)
    resource_type, resource_id = request.match_info["type"], request.match_info["id"]
    stream_id = f"{resource_type}-{resource_id}"
    events = await store(request).read_stream(stream_id, until_position=until_position)
    if not events or not may_read(auth, stream_id, owner_project(events[0])):
        raise NotFound(f"Could not find {resource_type}: {resource_id}.")
    return events


@routes.get("/v1/resources/{type:[a-z]+}/{id}/history")
async def history(request: web.Request) -> web.Response:
    """200 with `{"events": [...]}`: every event of the resource, oldest first."""
    events = await readable_stream(request)
    return json_response({"events": [to_doc(e) for e in events]})


@routes.get("/v1/resources/{type:[a-z]+}/{id}")
async def resource_at(request: web.Request) -> web.Response:
    """200 with the resource as its own API showed it at `?at=` (a position or an RFC 3339
    time; default now). 404 when it did not exist then, when the caller may not read it,
    or when Kumo cannot rebuild resources of that type; else 400 for a bad `at`."""
    moment = parse_moment(request.query.get("at"))
    events = await readable_stream(request, moment.position)
    render = RENDERERS.get(request.match_info["type"])
    if render is None:
        raise NotFound(f"Resources of type {request.match_info['type']} cannot be rebuilt.")
    document = await render(until(events, moment), Scene(base_url(request), store(request), moment))
    if document is None:
        raise NotFound(f"{request.match_info['type']} {request.match_info['id']} did not exist.")
    return json_response(document)
