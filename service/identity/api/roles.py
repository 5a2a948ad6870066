"""/v3/roles, implied roles (/implies, /v3/role_inferences)."""

from typing import Annotated, Any

import msgspec
from aiohttp import web
from msgspec import UNSET, Meta, UnsetType

from events.store import NO_STREAM
from service.auth import caller
from service.errors import Forbidden, NotFound
from service.http.body import json_response, read_json
from service.identity import events as ev
from service.identity import views
from service.identity.api.common import (
    authorized,
    base_url,
    filters,
    must_get,
    new_id,
    record,
    store,
)
from service.identity.directory import Role, select
from service.policy import enforce

Name = Annotated[str, Meta(min_length=1, max_length=255, pattern=r"\S")]
routes = web.RouteTableDef()
PROHIBITED_IMPLIED_ROLES = ("admin",)
"""Roles no other role may imply (Keystone's `prohibited_implied_role`): holding any role
must never make a user an admin by way of an inference rule."""


class NewRole(msgspec.Struct):
    name: Name
    domain_id: str | None = None
    description: str | None = None
    options: dict[str, Any] = {}


class RoleChanges(msgspec.Struct):
    name: Name | UnsetType = UNSET
    description: str | None | UnsetType = UNSET
    options: dict[str, Any] | UnsetType = UNSET


class CreateRole(msgspec.Struct):
    role: NewRole


class UpdateRole(msgspec.Struct):
    role: RoleChanges


def _duplicate(name: str) -> str:
    return f"Conflict occurred attempting to store role - Duplicate entry found with name {name}."


async def _role(request: web.Request, key: str, action: str) -> Role:
    role_id = request.match_info[key]

    def target(role: Role | None) -> dict[str, Any]:
        return {"role_id": role_id, "domain_id": role.domain_id if role else None}

    return await authorized(request, Role, role_id, action, target)


@routes.post("/v3/roles")
async def create_role(request: web.Request) -> web.Response:
    enforce(caller(request), "identity:create_role")
    body = (await read_json(request, CreateRole)).role
    role_id = new_id(request)
    created = ev.RoleCreated(
        role_id=role_id, name=body.name, domain_id=body.domain_id,
        description=body.description, options=body.options,
    )  # fmt: skip
    await record(request, f"role-{role_id}", [created], NO_STREAM, conflict=_duplicate(body.name))
    role = await must_get(request, Role, role_id)
    return json_response({"role": views.role(role, base_url(request))}, status=201)


@routes.get("/v3/roles")
async def list_roles(request: web.Request) -> web.Response:
    enforce(caller(request), "identity:list_roles")
    where, args = filters(request, "name")
    if "domain_id" in request.query:
        args.append(request.query["domain_id"])
        where += f" AND domain_id = ${len(args)}"
    else:
        where += " AND domain_id IS NULL"
    roles = await select(store(request).pool, Role, where, *args)
    items = [views.role(r, base_url(request)) for r in roles]
    return json_response(views.collection(base_url(request), "roles", "roles", items))


@routes.get("/v3/roles/{role_id}")
async def show_role(request: web.Request) -> web.Response:
    role = await _role(request, "role_id", "identity:get_role")
    return json_response({"role": views.role(role, base_url(request))})


@routes.patch("/v3/roles/{role_id}")
async def update_role(request: web.Request) -> web.Response:
    role = await _role(request, "role_id", "identity:update_role")
    changes = (await read_json(request, UpdateRole)).role
    event = ev.RoleUpdated(
        role_id=role.id, name=changes.name, description=changes.description,
        options=changes.options,
    )  # fmt: skip
    name = role.name if changes.name is UNSET else changes.name
    await record(request, f"role-{role.id}", [event], conflict=_duplicate(name))
    role = await must_get(request, Role, role.id)
    return json_response({"role": views.role(role, base_url(request))})


@routes.delete("/v3/roles/{role_id}")
async def delete_role(request: web.Request) -> web.Response:
    role = await _role(request, "role_id", "identity:delete_role")
    await record(request, f"role-{role.id}", [ev.RoleDeleted(role_id=role.id)])
    return web.Response(status=204)


def _ref(role: Role, request: web.Request) -> dict[str, Any]:
    body = views.role(role, base_url(request))
    return {"id": body["id"], "name": body["name"], "links": body["links"]}


async def _implication(request: web.Request, action: str) -> tuple[Role, Role, bool]:
    prior = await _role(request, "prior_role_id", action)
    implied = await must_get(request, Role, request.match_info["implied_role_id"])
    exists = await store(request).pool.fetchval(
        "SELECT true FROM rm_implied_roles WHERE prior_role_id = $1 AND implied_role_id = $2",
        prior.id,
        implied.id,
    )
    return prior, implied, bool(exists)


@routes.put("/v3/roles/{prior_role_id}/implies/{implied_role_id}")
async def create_implication(request: web.Request) -> web.Response:
    prior, implied, exists = await _implication(request, "identity:create_implied_role")
    if implied.name in PROHIBITED_IMPLIED_ROLES:
        raise Forbidden(f"{implied.name} may not be implied by another role.")
    if prior.domain_id is None and implied.domain_id is not None:
        raise Forbidden("A global role cannot imply a domain-specific role.")
    if not exists:
        event = ev.RoleImplied(prior_role_id=prior.id, implied_role_id=implied.id)
        await record(request, f"role-{prior.id}", [event])
    body = {
        "role_inference": {"prior_role": _ref(prior, request), "implies": _ref(implied, request)}
    }
    return json_response(body, status=201)


@routes.get("/v3/roles/{prior_role_id}/implies/{implied_role_id}")
async def show_implication(request: web.Request) -> web.Response:
    prior, implied, exists = await _implication(request, "identity:list_implied_roles")
    if not exists:
        raise NotFound(f"{prior.id} does not imply {implied.id}.")
    if request.method == "HEAD":
        return web.Response(status=204)
    body = {
        "role_inference": {"prior_role": _ref(prior, request), "implies": _ref(implied, request)}
    }
    return json_response(body)


@routes.delete("/v3/roles/{prior_role_id}/implies/{implied_role_id}")
async def delete_implication(request: web.Request) -> web.Response:
    prior, implied, exists = await _implication(request, "identity:delete_implied_role")
    if not exists:
        raise NotFound(f"{prior.id} does not imply {implied.id}.")
    event = ev.RoleImplicationRemoved(prior_role_id=prior.id, implied_role_id=implied.id)
    await record(request, f"role-{prior.id}", [event])
    return web.Response(status=204)


async def _inferences(request: web.Request, prior_ids: list[str]) -> list[dict[str, Any]]:
    pool = store(request).pool
    roles = {r.id: r for r in await select(pool, Role)}
    pairs = await pool.fetch(
        "SELECT prior_role_id, implied_role_id FROM rm_implied_roles"
        " WHERE prior_role_id = ANY($1) ORDER BY 1, 2",
        prior_ids,
    )
    grouped: dict[str, list[dict[str, Any]]] = {}
    for prior_id, implied_id in pairs:
        grouped.setdefault(prior_id, []).append(_ref(roles[implied_id], request))
    return [
        {"prior_role": _ref(roles[p], request), "implies": implies}
        for p, implies in grouped.items()
    ]


@routes.get("/v3/roles/{prior_role_id}/implies")
async def list_implications(request: web.Request) -> web.Response:
    prior = await _role(request, "prior_role_id", "identity:list_implied_roles")
    found = await _inferences(request, [prior.id])
    inference = found[0] if found else {"prior_role": _ref(prior, request), "implies": []}
    return json_response({"role_inference": inference})


@routes.get("/v3/role_inferences")
async def list_inferences(request: web.Request) -> web.Response:
    enforce(caller(request), "identity:list_implied_roles")
    prior_ids = [r.id for r in await select(store(request).pool, Role)]
    return json_response({"role_inferences": await _inferences(request, prior_ids)})
