"""/v3/registered_limits, /v3/limits and /v3/limits/model: Keystone's unified limits in
its flat model, which services (the image quota) read for a project's limits.

A registered limit is a service's default for a resource; a limit is one project's (or
domain's) own value and needs the registered limit of its service, region and resource.
Both are created in batches (all or none), only by admins; anyone may read the
registered limits, and a project's readers its limits.
"""

from typing import Annotated, Any

import msgspec
from aiohttp import web
from msgspec import UNSET, Meta, UnsetType

from events.store import NO_STREAM, StreamAppend
from service.auth import caller
from service.errors import BadRequest, Forbidden
from service.http.body import json_response, read_json
from service.identity import limit_events as ev
from service.identity.api.common import (
    authorized,
    base_url,
    filters,
    must_get,
    new_id,
    record,
    record_streams,
    store,
)
from service.identity.directory import (
    Domain,
    Limit,
    Project,
    Region,
    RegisteredLimit,
    Service,
    select,
)
from service.identity.directory import get as get_row
from service.identity.views import Json, collection, v3
from service.policy import enforce

routes = web.RouteTableDef()
Amount = Annotated[int, Meta(ge=-1, le=2**31 - 1)]
"""A limit's value; -1 is unlimited."""
ResourceName = Annotated[str, Meta(min_length=1, max_length=255)]
Description = Annotated[str, Meta(max_length=255)] | None
_MODEL = {
    "name": "flat",
    "description": "Limit enforcement and validation does not take project hierarchy into "
    "consideration.",
}


class NewRegisteredLimit(msgspec.Struct, forbid_unknown_fields=True):
    service_id: str
    resource_name: ResourceName
    default_limit: Amount
    region_id: str | None = None
    description: Description = None


class RegisteredLimitChanges(msgspec.Struct, forbid_unknown_fields=True):
    service_id: str | UnsetType = UNSET
    resource_name: ResourceName | UnsetType = UNSET
    default_limit: Amount | UnsetType = UNSET
    region_id: str | None | UnsetType = UNSET
    description: Description | UnsetType = UNSET


class NewLimit(msgspec.Struct, forbid_unknown_fields=True):
    service_id: str
    resource_name: ResourceName
    resource_limit: Amount
    project_id: str | None = None
    domain_id: str | None = None
    region_id: str | None = None
    description: Description = None


class LimitChanges(msgspec.Struct, forbid_unknown_fields=True):
    resource_limit: Amount | UnsetType = UNSET
    description: Description | UnsetType = UNSET


class CreateRegisteredLimits(msgspec.Struct):
    registered_limits: Annotated[list[NewRegisteredLimit], Meta(min_length=1)]


class UpdateRegisteredLimit(msgspec.Struct):
    registered_limit: RegisteredLimitChanges


class CreateLimits(msgspec.Struct):
    limits: Annotated[list[NewLimit], Meta(min_length=1)]


class UpdateLimit(msgspec.Struct):
    limit: LimitChanges


def _registered_view(r: RegisteredLimit, base: str) -> Json:
    return msgspec.structs.asdict(r) | {"links": {"self": v3(base, f"registered_limits/{r.id}")}}


def _limit_view(limit: Limit, base: str) -> Json:
    return msgspec.structs.asdict(limit) | {"links": {"self": v3(base, f"limits/{limit.id}")}}


def _limit_target(limit: Limit | None) -> dict[str, Any]:
    return {} if limit is None else {"project_id": limit.project_id, "domain_id": limit.domain_id}


async def _check_refs(request: web.Request, service_id: str, region_id: str | None) -> None:
    """400 unless the service (and the region, if given) exist."""
    pool = store(request).pool
    if await get_row(pool, Service, service_id) is None:
        raise BadRequest(f"Invalid service_id: no service {service_id} exists.")
    if region_id is not None and await get_row(pool, Region, region_id) is None:
        raise BadRequest(f"Invalid region_id: no region {region_id} exists.")


def _where(service_id: str, region_id: str | None, resource_name: str) -> tuple[str, list[Any]]:
    return (
        "service_id = $1 AND region_id IS NOT DISTINCT FROM $2 AND resource_name = $3",
        [service_id, region_id, resource_name],
    )


async def _referencing(request: web.Request, registered: RegisteredLimit) -> list[Limit]:
    where, args = _where(registered.service_id, registered.region_id, registered.resource_name)
    return await select(store(request).pool, Limit, where, *args)


def _duplicate(kind: str) -> str:
    return f"Conflict occurred attempting to store {kind} - Duplicate entry."


# --- registered limits ---------------------------------------------------------------


@routes.post("/v3/registered_limits")
async def create_registered_limits(request: web.Request) -> web.Response:
    enforce(caller(request), "identity:create_registered_limits")
    body = await read_json(request, CreateRegisteredLimits)
    appends, ids = [], []
    for new in body.registered_limits:
        await _check_refs(request, new.service_id, new.region_id)
        registered_id = new_id(request)
        created = ev.RegisteredLimitCreated(
            registered_limit_id=registered_id, **msgspec.structs.asdict(new)
        )
        appends.append(StreamAppend(f"registeredlimit-{registered_id}", [created], NO_STREAM))
        ids.append(registered_id)
    await record_streams(request, appends, conflict=_duplicate("registered_limit"))
    base = base_url(request)
    created_rows = [await must_get(request, RegisteredLimit, i) for i in ids]
    return json_response(
        {"registered_limits": [_registered_view(r, base) for r in created_rows]}, status=201
    )


@routes.get("/v3/registered_limits")
async def list_registered_limits(request: web.Request) -> web.Response:
    enforce(caller(request), "identity:list_registered_limits")
    where, args = filters(request, "service_id", "region_id", "resource_name")
    base = base_url(request)
    rows = await select(store(request).pool, RegisteredLimit, where, *args)
    items = [_registered_view(r, base) for r in rows]
    return json_response(collection(base, "registered_limits", "registered_limits", items))


@routes.get("/v3/registered_limits/{registered_limit_id}")
async def show_registered_limit(request: web.Request) -> web.Response:
    enforce(caller(request), "identity:get_registered_limit")
    found = await must_get(request, RegisteredLimit, request.match_info["registered_limit_id"])
    return json_response({"registered_limit": _registered_view(found, base_url(request))})


@routes.patch("/v3/registered_limits/{registered_limit_id}")
async def update_registered_limit(request: web.Request) -> web.Response:
    enforce(caller(request), "identity:update_registered_limit")
    found = await must_get(request, RegisteredLimit, request.match_info["registered_limit_id"])
    changes = (await read_json(request, UpdateRegisteredLimit)).registered_limit
    moved = {"service_id", "region_id", "resource_name"} & set(
        name for name, value in msgspec.structs.asdict(changes).items() if value is not UNSET
    )
    if moved:
        if await _referencing(request, found):
            raise Forbidden(
                f"Unable to update registered limit {found.id}: project limits refer to it."
            )
        service_id = found.service_id if changes.service_id is UNSET else changes.service_id
        region_id = found.region_id if changes.region_id is UNSET else changes.region_id
        await _check_refs(request, service_id, region_id)
    event = ev.RegisteredLimitUpdated(
        registered_limit_id=found.id, **msgspec.structs.asdict(changes)
    )
    await record(
        request, f"registeredlimit-{found.id}", [event], conflict=_duplicate("registered_limit")
    )
    updated = await must_get(request, RegisteredLimit, found.id)
    return json_response({"registered_limit": _registered_view(updated, base_url(request))})


@routes.delete("/v3/registered_limits/{registered_limit_id}")
async def delete_registered_limit(request: web.Request) -> web.Response:
    enforce(caller(request), "identity:delete_registered_limit")
    found = await must_get(request, RegisteredLimit, request.match_info["registered_limit_id"])
    if await _referencing(request, found):
        raise Forbidden(
            f"Unable to delete registered limit {found.id}: project limits refer to it."
        )
    deleted = ev.RegisteredLimitDeleted(registered_limit_id=found.id)
    await record(request, f"registeredlimit-{found.id}", [deleted])
    return web.Response(status=204)


# --- limits --------------------------------------------------------------------------


async def _check_limit(request: web.Request, new: NewLimit) -> None:
    """400 for a limit on neither or both of a project and a domain, or on one that does
    not exist; 403 when no registered limit of its service, region and resource exists."""
    if (new.project_id is None) == (new.domain_id is None):
        raise BadRequest("A limit is for either a project_id or a domain_id.")
    pool = store(request).pool
    if new.project_id is not None and await get_row(pool, Project, new.project_id) is None:
        raise BadRequest(f"Invalid project_id: no project {new.project_id} exists.")
    if new.domain_id is not None and await get_row(pool, Domain, new.domain_id) is None:
        raise BadRequest(f"Invalid domain_id: no domain {new.domain_id} exists.")
    await _check_refs(request, new.service_id, new.region_id)
    where, args = _where(new.service_id, new.region_id, new.resource_name)
    if not await select(pool, RegisteredLimit, where, *args):
        raise Forbidden(
            f"Unable to create a limit that has no corresponding registered limit: service "
            f"{new.service_id}, region {new.region_id}, resource {new.resource_name}."
        )


@routes.post("/v3/limits")
async def create_limits(request: web.Request) -> web.Response:
    enforce(caller(request), "identity:create_limits")
    body = await read_json(request, CreateLimits)
    appends, ids = [], []
    for new in body.limits:
        await _check_limit(request, new)
        limit_id = new_id(request)
        created = ev.LimitCreated(limit_id=limit_id, **msgspec.structs.asdict(new))
        appends.append(StreamAppend(f"limit-{limit_id}", [created], NO_STREAM))
        ids.append(limit_id)
    await record_streams(request, appends, conflict=_duplicate("limit"))
    base = base_url(request)
    rows = [await must_get(request, Limit, i) for i in ids]
    return json_response({"limits": [_limit_view(r, base) for r in rows]}, status=201)


@routes.get("/v3/limits")
async def list_limits(request: web.Request) -> web.Response:
    """Every limit for an admin; a project's own for its readers, a domain's for its."""
    ctx = caller(request)
    enforce(ctx, "identity:list_limits")
    where, args = filters(
        request, "service_id", "region_id", "resource_name", "project_id", "domain_id"
    )
    if not ctx.is_admin:
        mine = ctx.domain_id if ctx.scope == "domain" else ctx.project_id
        args.append(mine)
        column = "domain_id" if ctx.scope == "domain" else "project_id"
        where = f"{where} AND {column} = ${len(args)}"
    base = base_url(request)
    items = [_limit_view(r, base) for r in await select(store(request).pool, Limit, where, *args)]
    return json_response(collection(base, "limits", "limits", items))


@routes.get("/v3/limits/model")
async def limit_model(request: web.Request) -> web.Response:
    enforce(caller(request), "identity:get_limit_model")
    return json_response({"model": _MODEL})


@routes.get("/v3/limits/{limit_id}")
async def show_limit(request: web.Request) -> web.Response:
    limit_id = request.match_info["limit_id"]
    found = await authorized(request, Limit, limit_id, "identity:get_limit", _limit_target)
    return json_response({"limit": _limit_view(found, base_url(request))})


@routes.patch("/v3/limits/{limit_id}")
async def update_limit(request: web.Request) -> web.Response:
    enforce(caller(request), "identity:update_limit")
    found = await must_get(request, Limit, request.match_info["limit_id"])
    changes = (await read_json(request, UpdateLimit)).limit
    event = ev.LimitUpdated(limit_id=found.id, **msgspec.structs.asdict(changes))
    await record(request, f"limit-{found.id}", [event])
    updated = await must_get(request, Limit, found.id)
    return json_response({"limit": _limit_view(updated, base_url(request))})


@routes.delete("/v3/limits/{limit_id}")
async def delete_limit(request: web.Request) -> web.Response:
    enforce(caller(request), "identity:delete_limit")
    found = await must_get(request, Limit, request.match_info["limit_id"])
    await record(request, f"limit-{found.id}", [ev.LimitDeleted(limit_id=found.id)])
    return web.Response(status=204)
