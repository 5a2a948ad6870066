"""/v2/metadefs/namespaces: create (with contents), list, show, update, delete; delete all
of a namespace's objects, properties or tags. (Their schemas are served with the images',
service/image/api/images.py.)"""

from typing import Any
from urllib.parse import urlencode

import msgspec
from aiohttp import web

from events.store import NO_STREAM, StreamAppend
from events.types import Event
from service.auth import caller
from service.errors import BadRequest, Conflict
from service.http.body import json_response
from service.http.recording import new_uuid, record_streams, store
from service.image.api.common import enforce
from service.image.listing import page_size
from service.image.metadefs import events as ev
from service.image.metadefs import paging, views
from service.image.metadefs.api.common import (
    duplicate,
    must_see,
    record,
    refuse_if_protected,
    resource_types_created,
    seen,
    stream,
)
from service.image.metadefs.bodies import NamespaceBody, read_body
from service.image.metadefs.directory import SORT_KEYS, NamespaceQuery, page

routes = web.RouteTableDef()
NAMESPACE = "/v2/metadefs/namespaces/{namespace}"


@routes.post("/v2/metadefs/namespaces")
async def create_namespace(request: web.Request) -> web.Response:
    ctx = caller(request)
    enforce(ctx, "image:add_metadef_namespace")
    body = await read_body(request, NamespaceBody)
    namespace_id = new_uuid(request)
    events = [
        ev.MetadefNamespaceCreated(
            namespace_id=namespace_id, **_attributes(body, body.owner or ctx.project_id)
        ),
        *_contents(namespace_id, body),
    ]
    created = await resource_types_created(
        request, (a.name for a in body.resource_type_associations)
    )
    await record_streams(
        request,
        [*created, StreamAppend(stream(namespace_id), events, NO_STREAM)],
        conflict=f"Metadata definition namespace={body.namespace} already exists.",
    )
    ns = await seen(request, body.namespace)
    headers = {"Location": views.namespace_href(ns.namespace)}
    return json_response(views.namespace_details(ns), status=201, headers=headers)


@routes.get("/v2/metadefs/namespaces")
async def list_namespaces(request: web.Request) -> web.Response:
    ctx = caller(request)
    enforce(ctx, "image:get_metadef_namespaces")
    q = request.query
    visibility = q.get("visibility")
    if visibility is not None and visibility not in ("public", "private"):
        raise BadRequest(f"Invalid visibility value: {visibility}")
    query = NamespaceQuery(
        visibility=visibility,
        resource_types=q["resource_types"].split(",") if "resource_types" in q else None,
        sort_key=paging.sort_key(q, SORT_KEYS),
        sort_dir=paging.sort_dir(q),
        limit=page_size(q),
        marker=q.get("marker"),
    )
    if query.marker is not None:
        await seen(request, query.marker)
    found = await page(store(request).pool, ctx, query)
    params = [(k, v) for k, v in q.items() if k != "marker"]
    body = {
        "namespaces": [views.namespace(ns) for ns in found],
        "first": "/v2/metadefs/namespaces" + (f"?{urlencode(params)}" if params else ""),
        "schema": "/v2/schemas/metadefs/namespaces",
    }
    if found and len(found) == query.limit:
        marker = [*params, ("marker", found[-1].namespace)]
        body["next"] = f"/v2/metadefs/namespaces?{urlencode(marker)}"
    return json_response(body)


@routes.get(NAMESPACE)
async def show_namespace(request: web.Request) -> web.Response:
    """The namespace with its contents; with `resource_type`, its property names as that
    resource type knows them (with the association's prefix)."""
    ns = await must_see(request, "get_metadef_namespace")
    association = ns.association(request.query.get("resource_type", ""))
    prefix = (association or {}).get("prefix") or ""
    return json_response(views.namespace_details(ns, prefix))


@routes.put(NAMESPACE)
async def update_namespace(request: web.Request) -> web.Response:
    """Glance's update: every attribute is replaced; one left out takes its default
    (private, unprotected, owned by the caller's project)."""
    ns = await must_see(request, "modify_metadef_namespace")
    body = await read_body(request, NamespaceBody)
    owner = body.owner or caller(request).project_id
    updated = ev.MetadefNamespaceUpdated(namespace_id=ns.id, **_attributes(body, owner))
    conflict = (
        "Invalid update. It would result in a duplicate metadata definition namespace"
        f" with the same name of {body.namespace}"
    )
    await record(request, ns, [updated], conflict=conflict)
    return json_response(views.namespace(await seen(request, body.namespace), associations=False))


@routes.delete(NAMESPACE)
async def delete_namespace(request: web.Request) -> web.Response:
    ns = await must_see(request, "delete_metadef_namespace")
    refuse_if_protected(ns, f"Metadata definition namespace {ns.namespace}")
    await record(request, ns, [ev.MetadefNamespaceDeleted(namespace_id=ns.id)])
    return web.Response(status=204)


@routes.delete(f"{NAMESPACE}/objects")
async def delete_objects(request: web.Request) -> web.Response:
    ns = await must_see(request, "delete_metadef_namespace")
    refuse_if_protected(ns, f"The objects of namespace {ns.namespace}")
    gone = [ev.MetadefObjectDeleted(namespace_id=ns.id, name=o["name"]) for o in ns.objects]
    await record(request, ns, gone)
    return web.Response(status=204)


@routes.delete(f"{NAMESPACE}/properties")
async def delete_properties(request: web.Request) -> web.Response:
    ns = await must_see(request, "delete_metadef_namespace")
    refuse_if_protected(ns, f"The properties of namespace {ns.namespace}")
    gone = [ev.MetadefPropertyDeleted(namespace_id=ns.id, name=name) for name in ns.properties]
    await record(request, ns, gone)
    return web.Response(status=204)


@routes.delete(f"{NAMESPACE}/tags")
async def delete_tags(request: web.Request) -> web.Response:
    ns = await must_see(request, "delete_metadef_namespace")
    enforce(caller(request), "image:delete_metadef_tags", ns.target())
    refuse_if_protected(ns, f"The tags of namespace {ns.namespace}")
    gone = [ev.MetadefTagDeleted(namespace_id=ns.id, name=t["name"]) for t in ns.tags]
    await record(request, ns, gone)
    return web.Response(status=204)


def _attributes(body: NamespaceBody, owner: str | None) -> dict[str, Any]:
    """A namespace's own attributes from a create or update body, defaults filled in."""
    return {
        "namespace": body.namespace,
        "owner": owner,
        "display_name": body.display_name,
        "description": body.description,
        "visibility": body.visibility or "private",
        "protected": body.protected or False,
    }


def _contents(namespace_id: str, body: NamespaceBody) -> list[Event]:
    """The events that give a new namespace the contents of its create body; Conflict (409)
    when two of a kind share a name."""
    events: list[Event] = []
    for what, names in (
        ("resource type association", [a.name for a in body.resource_type_associations]),
        ("object", [o.name for o in body.objects]),
        ("tag", [t.name for t in body.tags]),
    ):
        twice = next((n for n in names if names.count(n) > 1), None)
        if twice is not None:
            raise Conflict(duplicate(what, twice, body.namespace))
    events.extend(
        ev.MetadefResourceTypeAssociated(namespace_id=namespace_id, **msgspec.to_builtins(a))
        for a in body.resource_type_associations
    )
    for name, schema in body.properties.items():
        events.append(
            ev.MetadefPropertyCreated(namespace_id=namespace_id, name=name, schema=schema.schema())
        )
    for o in body.objects:
        events.append(ev.MetadefObjectCreated(namespace_id=namespace_id, name=o.name, **o.fields()))
    events.extend(ev.MetadefTagCreated(namespace_id=namespace_id, name=t.name) for t in body.tags)
    return events
