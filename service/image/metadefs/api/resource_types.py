"""/v2/metadefs/resource_types (every resource type) and a namespace's associations with
them: list, associate (naming a new resource type creates it), dissociate."""

import msgspec
from aiohttp import web

from service.auth import caller
from service.errors import Conflict, NotFound
from service.http.body import json_response
from service.http.recording import store
from service.image.api.common import enforce
from service.image.metadefs import events as ev
from service.image.metadefs import views
from service.image.metadefs.api.common import (
    must_see,
    record,
    refuse_if_protected,
    resource_types_created,
    seen,
)
from service.image.metadefs.bodies import AssociationBody, read_body
from service.image.metadefs.directory import resource_types

routes = web.RouteTableDef()
ASSOCIATIONS = "/v2/metadefs/namespaces/{namespace}/resource_types"


@routes.get("/v2/metadefs/resource_types")
async def list_resource_types(request: web.Request) -> web.Response:
    enforce(caller(request), "image:list_metadef_resource_types")
    found = await resource_types(store(request).pool)
    return json_response({"resource_types": [views.resource_type(rt) for rt in found]})


@routes.get(ASSOCIATIONS)
async def list_associations(request: web.Request) -> web.Response:
    ns = await must_see(request, "get_metadef_resource_type")
    return json_response({"resource_type_associations": ns.resource_types})


@routes.post(ASSOCIATIONS)
async def associate(request: web.Request) -> web.Response:
    ns = await must_see(request, "add_metadef_resource_type_association")
    body = await read_body(request, AssociationBody)
    if ns.association(body.name) is not None:
        raise Conflict(
            f"The metadata definition resource-type association of resource-type={body.name}"
            f" to namespace={ns.namespace}, already exists."
        )
    associated = ev.MetadefResourceTypeAssociated(namespace_id=ns.id, **msgspec.to_builtins(body))
    created = await resource_types_created(request, [body.name])
    await record(request, ns, [associated], also=created)
    now = (await seen(request, ns.namespace)).association(body.name)
    return json_response(now, status=201)


@routes.delete(ASSOCIATIONS + "/{name}")
async def dissociate(request: web.Request) -> web.Response:
    ns = await must_see(request, "remove_metadef_resource_type_association")
    name = request.match_info["name"]
    if ns.association(name) is None:
        raise NotFound(f"Failed to find resource type {name} to delete")
    refuse_if_protected(ns, f"The association of resource type {name}")
    await record(request, ns, [ev.MetadefResourceTypeDissociated(namespace_id=ns.id, name=name)])
    return web.Response(status=204)
