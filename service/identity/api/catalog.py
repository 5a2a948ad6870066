"""/v3/regions, /v3/services and /v3/endpoints, and the catalog tokens carry."""

from typing import Annotated, Literal

import msgspec
from aiohttp import web
from msgspec import UNSET, Meta, UnsetType

from events.store import NO_STREAM, StreamAppend
from service.auth import caller
from service.errors import BadRequest, Conflict
from service.http.body import json_response, read_json
from service.identity import events as ev
from service.identity import views
from service.identity.api.common import (
    base_url,
    filters,
    must_get,
    new_id,
    record,
    record_streams,
    store,
)
from service.identity.directory import Endpoint, Region, Service, get, select
from service.policy import enforce

routes = web.RouteTableDef()
Interface = Literal["public", "internal", "admin"]
Url = Annotated[str, Meta(min_length=1, max_length=225, pattern=r"^https?://")]


class NewRegion(msgspec.Struct):
    id: str | None = None
    description: str = ""
    parent_region_id: str | None = None


class RegionChanges(msgspec.Struct):
    description: str | UnsetType = UNSET
    parent_region_id: str | None | UnsetType = UNSET


class NewService(msgspec.Struct):
    type: Annotated[str, Meta(min_length=1, max_length=255)]
    name: str = ""
    description: str = ""
    enabled: bool = True


class ServiceChanges(msgspec.Struct):
    type: str | UnsetType = UNSET
    name: str | UnsetType = UNSET
    description: str | UnsetType = UNSET
    enabled: bool | UnsetType = UNSET


class NewEndpoint(msgspec.Struct):
    service_id: str
    interface: Interface
    url: Url
    region_id: str | None = None
    region: str | None = None
    enabled: bool = True


class EndpointChanges(msgspec.Struct):
    service_id: str | UnsetType = UNSET
    interface: Interface | UnsetType = UNSET
    url: Url | UnsetType = UNSET
    region_id: str | None | UnsetType = UNSET
    region: str | UnsetType = UNSET
    """The region's old name for `region_id`, which clients still send."""
    enabled: bool | UnsetType = UNSET


class CreateRegion(msgspec.Struct):
    region: NewRegion


class UpdateRegion(msgspec.Struct):
    region: RegionChanges


class CreateService(msgspec.Struct):
    service: NewService


class UpdateService(msgspec.Struct):
    service: ServiceChanges


class CreateEndpoint(msgspec.Struct):
    endpoint: NewEndpoint


class UpdateEndpoint(msgspec.Struct):
    endpoint: EndpointChanges


# --- regions -------------------------------------------------------------------------


async def _create_region(request: web.Request, region_id: str, body: NewRegion) -> web.Response:
    enforce(caller(request), "identity:create_region")
    if body.parent_region_id is not None:
        await must_get(request, Region, body.parent_region_id)
    created = ev.RegionCreated(
        region_id=region_id, description=body.description, parent_region_id=body.parent_region_id
    )
    await record(
        request, f"region-{region_id}", [created], NO_STREAM,
        conflict=f"Conflict occurred attempting to store region - Duplicate ID, {region_id}.",
    )  # fmt: skip
    region = await must_get(request, Region, region_id)
    return json_response({"region": views.region(region, base_url(request))}, status=201)


@routes.post("/v3/regions")
async def create_region(request: web.Request) -> web.Response:
    body = (await read_json(request, CreateRegion)).region
    return await _create_region(request, body.id or new_id(request), body)


@routes.put("/v3/regions/{region_id}")
async def create_region_with_id(request: web.Request) -> web.Response:
    body = (await read_json(request, CreateRegion)).region
    if body.id not in (None, request.match_info["region_id"]):
        raise BadRequest("The region id in the body differs from the one in the URL.")
    return await _create_region(request, request.match_info["region_id"], body)


@routes.get("/v3/regions")
async def list_regions(request: web.Request) -> web.Response:
    enforce(caller(request), "identity:list_regions")
    where, args = filters(request, "parent_region_id")
    items = [
        views.region(r, base_url(request))
        for r in await select(store(request).pool, Region, where, *args)
    ]
    return json_response(views.collection(base_url(request), "regions", "regions", items))


@routes.get("/v3/regions/{region_id}")
async def show_region(request: web.Request) -> web.Response:
    enforce(caller(request), "identity:get_region")
    region = await must_get(request, Region, request.match_info["region_id"])
    return json_response({"region": views.region(region, base_url(request))})


@routes.patch("/v3/regions/{region_id}")
async def update_region(request: web.Request) -> web.Response:
    enforce(caller(request), "identity:update_region")
    region = await must_get(request, Region, request.match_info["region_id"])
    changes = (await read_json(request, UpdateRegion)).region
    if isinstance(changes.parent_region_id, str):
        await must_get(request, Region, changes.parent_region_id)
    event = ev.RegionUpdated(
        region_id=region.id, description=changes.description,
        parent_region_id=changes.parent_region_id,
    )  # fmt: skip
    await record(request, f"region-{region.id}", [event])
    region = await must_get(request, Region, region.id)
    return json_response({"region": views.region(region, base_url(request))})


@routes.delete("/v3/regions/{region_id}")
async def delete_region(request: web.Request) -> web.Response:
    enforce(caller(request), "identity:delete_region")
    region = await must_get(request, Region, request.match_info["region_id"])
    if await select(store(request).pool, Region, "parent_region_id = $1", region.id):
        raise Conflict(f"Region {region.id} has child regions; delete them first.")
    await record(request, f"region-{region.id}", [ev.RegionDeleted(region_id=region.id)])
    return web.Response(status=204)


# --- services ------------------------------------------------------------------------


@routes.post("/v3/services")
async def create_service(request: web.Request) -> web.Response:
    enforce(caller(request), "identity:create_service")
    body = (await read_json(request, CreateService)).service
    service_id = new_id(request)
    created = ev.ServiceCreated(
        service_id=service_id, type=body.type, name=body.name, description=body.description,
        enabled=body.enabled,
    )  # fmt: skip
    await record(request, f"service-{service_id}", [created], NO_STREAM)
    service = await must_get(request, Service, service_id)
    return json_response({"service": views.service(service, base_url(request))}, status=201)


@routes.get("/v3/services")
async def list_services(request: web.Request) -> web.Response:
    enforce(caller(request), "identity:list_services")
    where, args = filters(request, "type", "name")
    items = [
        views.service(s, base_url(request))
        for s in await select(store(request).pool, Service, where, *args)
    ]
    return json_response(views.collection(base_url(request), "services", "services", items))


@routes.get("/v3/services/{service_id}")
async def show_service(request: web.Request) -> web.Response:
    enforce(caller(request), "identity:get_service")
    service = await must_get(request, Service, request.match_info["service_id"])
    return json_response({"service": views.service(service, base_url(request))})


@routes.patch("/v3/services/{service_id}")
async def update_service(request: web.Request) -> web.Response:
    enforce(caller(request), "identity:update_service")
    service = await must_get(request, Service, request.match_info["service_id"])
    changes = (await read_json(request, UpdateService)).service
    event = ev.ServiceUpdated(
        service_id=service.id, type=changes.type, name=changes.name,
        description=changes.description, enabled=changes.enabled,
    )  # fmt: skip
    await record(request, f"service-{service.id}", [event])
    service = await must_get(request, Service, service.id)
    return json_response({"service": views.service(service, base_url(request))})


@routes.delete("/v3/services/{service_id}")
async def delete_service(request: web.Request) -> web.Response:
    enforce(caller(request), "identity:delete_service")
    service = await must_get(request, Service, request.match_info["service_id"])
    await record(request, f"service-{service.id}", [ev.ServiceDeleted(service_id=service.id)])
    return web.Response(status=204)


# --- endpoints -----------------------------------------------------------------------


async def _region_for(request: web.Request, region_id: str | None) -> list[StreamAppend]:
    """What an endpoint's region needs: nothing if there is none or it exists; else its
    creation, as Keystone creates the region an endpoint names (appended together with
    the endpoint's change, so neither lands alone)."""
    if region_id is None or await get(store(request).pool, Region, region_id) is not None:
        return []
    created = ev.RegionCreated(region_id=region_id, description="", parent_region_id=None)
    return [StreamAppend(f"region-{region_id}", [created], NO_STREAM)]


@routes.post("/v3/endpoints")
async def create_endpoint(request: web.Request) -> web.Response:
    enforce(caller(request), "identity:create_endpoint")
    body = (await read_json(request, CreateEndpoint)).endpoint
    await must_get(request, Service, body.service_id)
    region_id = body.region_id or body.region
    endpoint_id = new_id(request)
    created = ev.EndpointCreated(
        endpoint_id=endpoint_id, service_id=body.service_id, interface=body.interface,
        url=body.url, region_id=region_id, enabled=body.enabled,
    )  # fmt: skip
    appends = await _region_for(request, region_id)
    await record_streams(
        request, [*appends, StreamAppend(f"endpoint-{endpoint_id}", [created], NO_STREAM)]
    )
    endpoint = await must_get(request, Endpoint, endpoint_id)
    return json_response({"endpoint": views.endpoint(endpoint, base_url(request))}, status=201)


@routes.get("/v3/endpoints")
async def list_endpoints(request: web.Request) -> web.Response:
    enforce(caller(request), "identity:list_endpoints")
    where, args = filters(request, "service_id", "interface", "region_id")
    items = [
        views.endpoint(e, base_url(request))
        for e in await select(store(request).pool, Endpoint, where, *args)
    ]
    return json_response(views.collection(base_url(request), "endpoints", "endpoints", items))


@routes.get("/v3/endpoints/{endpoint_id}")
async def show_endpoint(request: web.Request) -> web.Response:
    enforce(caller(request), "identity:get_endpoint")
    endpoint = await must_get(request, Endpoint, request.match_info["endpoint_id"])
    return json_response({"endpoint": views.endpoint(endpoint, base_url(request))})


@routes.patch("/v3/endpoints/{endpoint_id}")
async def update_endpoint(request: web.Request) -> web.Response:
    enforce(caller(request), "identity:update_endpoint")
    endpoint = await must_get(request, Endpoint, request.match_info["endpoint_id"])
    changes = (await read_json(request, UpdateEndpoint)).endpoint
    if isinstance(changes.service_id, str):
        await must_get(request, Service, changes.service_id)
    region_id = changes.region if changes.region_id is UNSET else changes.region_id
    event = ev.EndpointUpdated(
        endpoint_id=endpoint.id, service_id=changes.service_id, interface=changes.interface,
        url=changes.url, region_id=region_id, enabled=changes.enabled,
    )  # fmt: skip
    appends = await _region_for(request, region_id if isinstance(region_id, str) else None)
    await record_streams(request, [*appends, StreamAppend(f"endpoint-{endpoint.id}", [event])])
    endpoint = await must_get(request, Endpoint, endpoint.id)
    return json_response({"endpoint": views.endpoint(endpoint, base_url(request))})


@routes.delete("/v3/endpoints/{endpoint_id}")
async def delete_endpoint(request: web.Request) -> web.Response:
    enforce(caller(request), "identity:delete_endpoint")
    endpoint = await must_get(request, Endpoint, request.match_info["endpoint_id"])
    await record(request, f"endpoint-{endpoint.id}", [ev.EndpointDeleted(endpoint_id=endpoint.id)])
    return web.Response(status=204)
