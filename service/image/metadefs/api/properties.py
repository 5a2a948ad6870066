"""/v2/metadefs/namespaces/{namespace}/properties: create, list, show (by the name a
resource type knows it by, with `resource_type`), update (and rename), delete."""

from aiohttp import web

from service.errors import BadRequest, Conflict, NotFound
from service.http.body import json_response
from service.image.metadefs import events as ev
from service.image.metadefs import views
from service.image.metadefs.api.common import (
    duplicate,
    must_see,
    not_found,
    record,
    refuse_if_protected,
)
from service.image.metadefs.bodies import PropertyBody, read_body
from service.image.metadefs.directory import Namespace

routes = web.RouteTableDef()
PROPERTIES = "/v2/metadefs/namespaces/{namespace}/properties"


@routes.post(PROPERTIES)
async def create_property(request: web.Request) -> web.Response:
    ns = await must_see(request, "add_metadef_property")
    name, body = await _named_body(request)
    if name in ns.properties:
        raise Conflict(duplicate("property", name, ns))
    schema = body.schema()
    created = ev.MetadefPropertyCreated(namespace_id=ns.id, name=name, schema=schema)
    await record(request, ns, [created])
    return json_response(views.metadef_property(name, schema), status=201)


@routes.get(PROPERTIES)
async def list_properties(request: web.Request) -> web.Response:
    ns = await must_see(request, "get_metadef_properties")
    return json_response({"properties": views.prefixed(ns.properties)})


@routes.get(PROPERTIES + "/{name}")
async def show_property(request: web.Request) -> web.Response:
    """The property; with `resource_type`, the name asked for is the one that resource type
    knows it by (with the association's prefix), and the property is shown by its own."""
    ns = await must_see(request, "get_metadef_property")
    name = request.match_info["name"]
    resource_type = request.query.get("resource_type")
    if resource_type:
        association = ns.association(resource_type)
        if association is None:
            raise NotFound(
                f"Resource type {resource_type} is not associated with namespace {ns.namespace}."
            )
        prefix = association.get("prefix") or ""
        if not prefix or not name.startswith(prefix):
            raise NotFound(
                f"Property {name} does not start with the expected resource type association"
                f" prefix of '{prefix}'."
            )
        name = name.removeprefix(prefix)
    return json_response(views.metadef_property(name, _schema(ns, name)))


@routes.put(PROPERTIES + "/{name}")
async def update_property(request: web.Request) -> web.Response:
    ns = await must_see(request, "modify_metadef_property")
    name = request.match_info["name"]
    _schema(ns, name)
    new_name, body = await _named_body(request)
    if new_name != name and new_name in ns.properties:
        raise Conflict(duplicate("property", new_name, ns))
    schema = body.schema()
    updated = ev.MetadefPropertyUpdated(
        namespace_id=ns.id, name=name, new_name=new_name, schema=schema
    )
    await record(request, ns, [updated])
    return json_response(views.metadef_property(new_name, schema))


@routes.delete(PROPERTIES + "/{name}")
async def delete_property(request: web.Request) -> web.Response:
    ns = await must_see(request, "remove_metadef_property")
    name = request.match_info["name"]
    _schema(ns, name)
    refuse_if_protected(ns, f"Metadata definition property {name}")
    await record(request, ns, [ev.MetadefPropertyDeleted(namespace_id=ns.id, name=name)])
    return web.Response(status=204)


async def _named_body(request: web.Request) -> tuple[str, PropertyBody]:
    """A property body, which must name the property here; BadRequest (400) otherwise."""
    body = await read_body(request, PropertyBody)
    if body.name is None:
        raise BadRequest("Provided object does not match schema 'property': 'name' is required")
    return body.name, body


def _schema(ns: Namespace, name: str) -> dict[str, object]:
    schema = ns.properties.get(name)
    if schema is None:
        raise not_found("property", name, ns)
    return schema
