"""/v2/metadefs/namespaces/{namespace}/objects: create, list, show, update, delete."""

from aiohttp import web

from service.http.body import json_response
from service.image.metadefs import events as ev
from service.image.metadefs import paging, views
from service.image.metadefs.api.common import (
    current,
    delete_one,
    must_see,
    record,
    refuse_duplicate,
    the,
)
from service.image.metadefs.bodies import ObjectBody, read_body

routes = web.RouteTableDef()
OBJECTS = "/v2/metadefs/namespaces/{namespace}/objects"


@routes.post(OBJECTS)
async def create_object(request: web.Request) -> web.Response:
    ns = await must_see(request, "add_metadef_object")
    body = await read_body(request, ObjectBody)
    refuse_duplicate(ns.objects, body.name, "object", ns)
    created = ev.MetadefObjectCreated(namespace_id=ns.id, name=body.name, **body.fields())
    await record(request, ns, [created])
    item = await current(request, ns.namespace, "object", body.name)
    return json_response(views.metadef_object(ns.namespace, item), status=201)


@routes.get(OBJECTS)
async def list_objects(request: web.Request) -> web.Response:
    ns = await must_see(request, "get_metadef_objects")
    found = paging.page(ns.objects, request.query)
    return json_response(
        {
            "objects": [views.metadef_object(ns.namespace, o) for o in found],
            "schema": "/v2/schemas/metadefs/objects",
        }
    )


@routes.get(OBJECTS + "/{name}")
async def show_object(request: web.Request) -> web.Response:
    ns = await must_see(request, "get_metadef_object")
    return json_response(views.metadef_object(ns.namespace, the(ns, request, "object")))


@routes.put(OBJECTS + "/{name}")
async def update_object(request: web.Request) -> web.Response:
    ns = await must_see(request, "modify_metadef_object")
    name = the(ns, request, "object")["name"]
    body = await read_body(request, ObjectBody)
    if body.name != name:
        refuse_duplicate(ns.objects, body.name, "object", ns)
    updated = ev.MetadefObjectUpdated(
        namespace_id=ns.id, name=name, new_name=body.name, **body.fields()
    )
    await record(request, ns, [updated])
    item = await current(request, ns.namespace, "object", body.name)
    return json_response(views.metadef_object(ns.namespace, item))


@routes.delete(OBJECTS + "/{name}")
async def delete_object(request: web.Request) -> web.Response:
    return await delete_one(request, "delete_metadef_object", "object", ev.MetadefObjectDeleted)
