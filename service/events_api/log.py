"""`GET /events/v1/events`: a page of the log as JSON, under the live stream's filters
and authorisation (sse.py), for readers that want what is there now and no more."""

from aiohttp import web

from service.errors import BadRequest
from service.events_api.access import Owners
from service.events_api.envelope import EventDoc, to_doc
from service.events_api.sse import subscription, visible
from service.http.body import json_response
from service.http.recording import store

routes = web.RouteTableDef()

MAX_LIMIT = 1000


def _count(request: web.Request, name: str, default: int) -> int:
    """A whole number from the query; BadRequest otherwise."""
    text = request.query.get(name)
    if text is None:
        return default
    if not text.isdigit():
        raise BadRequest(f"Invalid {name}: {text!r}; give a whole number.")
    return int(text)


@routes.get("/v1/events")
async def events_page(request: web.Request) -> web.Response:
    """200 with `{"events": [...], "head": P}`: up to `limit` (100, at most 1000) events
    the caller may see, oldest first, after `after` (or `Last-Event-ID`), else among the
    `last` positions before the head P (default: from the start), up to P; the stream's
    filters (`types`, `resource_type`, `project_id` for admins) apply. 400/401/403 as the
    stream says."""
    wanted, after = subscription(request)
    limit = min(_count(request, "limit", 100), MAX_LIMIT) or 1
    head = await store(request).head_position()
    if after is None:
        after = max(0, head - _count(request, "last", head))
    owners = Owners(store(request))
    found: list[EventDoc] = []
    while len(found) < limit and after < head:
        batch = await store(request).read_all(
            after, limit, types=wanted.types, categories=wanted.categories, until=head
        )
        for recorded in batch:
            if len(found) < limit and await visible(owners, wanted, recorded):
                found.append(to_doc(recorded))
        if len(batch) < limit:
            break
        after = found[-1].position if len(found) == limit else batch[-1].position
    return json_response({"events": found, "head": head})
