"""/v2/metadefs/namespaces/{namespace}/tags: create one, create many (replacing the
namespace's tags unless `X-Openstack-Append` is true), list, show, rename, delete."""

from aiohttp import web

from events.types import Event
from service.auth import caller
from service.errors import BadRequest, Conflict
from service.http.body import json_response
from service.image.api.common import enforce
from service.image.metadefs import events as ev
from service.image.metadefs import paging
from service.image.metadefs.api.common import (
    current,
    delete_one,
    duplicate,
    must_see,
    record,
    refuse_duplicate,
    the,
)
from service.image.metadefs.bodies import MAX_NAME, TagBody, TagsBody, read_body

routes = web.RouteTableDef()
TAGS = "/v2/metadefs/namespaces/{namespace}/tags"
_TRUE = ("true", "1", "yes", "on", "y", "t")


@routes.post(TAGS + "/{name}")
async def create_tag(request: web.Request) -> web.Response:
    ns = await must_see(request, "add_metadef_tag")
    name = request.match_info["name"]
    if len(name) > MAX_NAME:
        raise BadRequest(f"Provided object does not match schema 'tag': {name!r} is too long")
    refuse_duplicate(ns.tags, name, "tag", ns)
    await record(request, ns, [ev.MetadefTagCreated(namespace_id=ns.id, name=name)])
    return json_response(await current(request, ns.namespace, "tag", name), status=201)


@routes.post(TAGS)
async def create_tags(request: web.Request) -> web.Response:
    """The body's tags added to the namespace's (with `X-Openstack-Append: true`) or in place
    of them; Conflict (409) if a name would be there twice."""
    ns = await must_see(request, "add_metadef_tags")
    body = await read_body(request, TagsBody)
    names = [t.name for t in body.tags]
    append = request.headers.get("X-Openstack-Append", "").lower() in _TRUE
    kept = [t["name"] for t in ns.tags] if append else []
    events: list[Event] = []
    if not append:
        enforce(caller(request), "image:delete_metadef_tags", ns.target())
        events.extend(ev.MetadefTagDeleted(namespace_id=ns.id, name=t["name"]) for t in ns.tags)
    seen_names = set(kept)
    for name in names:
        if name in seen_names:
            raise Conflict(duplicate("tag", name, ns))
        seen_names.add(name)
        events.append(ev.MetadefTagCreated(namespace_id=ns.id, name=name))
    await record(request, ns, events)
    return json_response({"tags": [{"name": name} for name in names]}, status=201)


@routes.get(TAGS)
async def list_tags(request: web.Request) -> web.Response:
    ns = await must_see(request, "get_metadef_tags")
    return json_response(
        {"tags": [{"name": t["name"]} for t in paging.page(ns.tags, request.query)]}
    )


@routes.get(TAGS + "/{name}")
async def show_tag(request: web.Request) -> web.Response:
    ns = await must_see(request, "get_metadef_tag")
    return json_response(the(ns, request, "tag"))


@routes.put(TAGS + "/{name}")
async def rename_tag(request: web.Request) -> web.Response:
    ns = await must_see(request, "modify_metadef_tag")
    name = the(ns, request, "tag")["name"]
    body = await read_body(request, TagBody)
    if body.name != name:
        refuse_duplicate(ns.tags, body.name, "tag", ns)
    renamed = ev.MetadefTagRenamed(namespace_id=ns.id, name=name, new_name=body.name)
    await record(request, ns, [renamed])
    return json_response(await current(request, ns.namespace, "tag", body.name))


@routes.delete(TAGS + "/{name}")
async def delete_tag(request: web.Request) -> web.Response:
    return await delete_one(request, "delete_metadef_tag", "tag", ev.MetadefTagDeleted)
