"""/v3/groups and their members."""

from typing import Annotated, Any

import msgspec
from aiohttp import web
from msgspec import UNSET, Meta, UnsetType

from events.store import NO_STREAM
from service.auth import caller
from service.errors import NotFound
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
from service.identity.api.projects import default_domain
from service.identity.directory import Domain, Group, User, select
from service.policy import enforce

Name = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"\S")]
routes = web.RouteTableDef()


class NewGroup(msgspec.Struct):
    name: Name
    domain_id: str | None = None
    description: str = ""


class GroupChanges(msgspec.Struct):
    name: Name | UnsetType = UNSET
    description: str | UnsetType = UNSET


class CreateGroup(msgspec.Struct):
    group: NewGroup


class UpdateGroup(msgspec.Struct):
    group: GroupChanges


def _duplicate(name: str, domain_id: str) -> str:
    return (
        "Conflict occurred attempting to store group - Duplicate entry found with name "
        f"{name} at domain ID {domain_id}."
    )


async def _group_in_path(request: web.Request, action: str) -> Group:
    group_id = request.match_info["group_id"]

    def target(group: Group | None) -> dict[str, Any]:
        return {"group_id": group_id, "domain_id": group.domain_id if group else None}

    return await authorized(request, Group, group_id, action, target)


@routes.post("/v3/groups")
async def create_group(request: web.Request) -> web.Response:
    ctx = caller(request)
    body = (await read_json(request, CreateGroup)).group
    domain_id = body.domain_id or default_domain(ctx)
    enforce(ctx, "identity:create_group", {"domain_id": domain_id})
    await must_get(request, Domain, domain_id)
    group_id = new_id(request)
    created = ev.GroupCreated(
        group_id=group_id, name=body.name, domain_id=domain_id, description=body.description
    )
    await record(
        request, f"group-{group_id}", [created], NO_STREAM,
        conflict=_duplicate(body.name, domain_id),
    )  # fmt: skip
    group = await must_get(request, Group, group_id)
    return json_response({"group": views.group(group, base_url(request))}, status=201)


@routes.get("/v3/groups")
async def list_groups(request: web.Request) -> web.Response:
    enforce(caller(request), "identity:list_groups", {"domain_id": request.query.get("domain_id")})
    where, args = filters(request, "name", "domain_id")
    groups = await select(store(request).pool, Group, where, *args)
    items = [views.group(g, base_url(request)) for g in groups]
    return json_response(views.collection(base_url(request), "groups", "groups", items))


@routes.get("/v3/groups/{group_id}")
async def show_group(request: web.Request) -> web.Response:
    group = await _group_in_path(request, "identity:get_group")
    return json_response({"group": views.group(group, base_url(request))})


@routes.patch("/v3/groups/{group_id}")
async def update_group(request: web.Request) -> web.Response:
    group = await _group_in_path(request, "identity:update_group")
    changes = (await read_json(request, UpdateGroup)).group
    event = ev.GroupUpdated(group_id=group.id, name=changes.name, description=changes.description)
    name = group.name if changes.name is UNSET else changes.name
    await record(request, f"group-{group.id}", [event], conflict=_duplicate(name, group.domain_id))
    group = await must_get(request, Group, group.id)
    return json_response({"group": views.group(group, base_url(request))})


@routes.delete("/v3/groups/{group_id}")
async def delete_group(request: web.Request) -> web.Response:
    group = await _group_in_path(request, "identity:delete_group")
    await record(request, f"group-{group.id}", [ev.GroupDeleted(group_id=group.id)])
    return web.Response(status=204)


@routes.get("/v3/groups/{group_id}/users")
async def list_members(request: web.Request) -> web.Response:
    group = await _group_in_path(request, "identity:list_users_in_group")
    users = await select(
        store(request).pool, User,
        "id IN (SELECT user_id FROM rm_group_members WHERE group_id = $1)", group.id,
    )  # fmt: skip
    items = [views.user(u, base_url(request)) for u in users]
    path = f"groups/{group.id}/users"
    return json_response(views.collection(base_url(request), path, "users", items))


async def _membership(request: web.Request, action: str) -> tuple[Group, User, bool]:
    group = await _group_in_path(request, action)
    user = await must_get(request, User, request.match_info["user_id"])
    member = await store(request).pool.fetchval(
        "SELECT true FROM rm_group_members WHERE group_id = $1 AND user_id = $2", group.id, user.id
    )
    return group, user, bool(member)


@routes.put("/v3/groups/{group_id}/users/{user_id}")
async def add_member(request: web.Request) -> web.Response:
    group, user, member = await _membership(request, "identity:add_user_to_group")
    if not member:
        event = ev.UserAddedToGroup(group_id=group.id, user_id=user.id)
        await record(request, f"group-{group.id}", [event])
    return web.Response(status=204)


@routes.get("/v3/groups/{group_id}/users/{user_id}")
async def check_member(request: web.Request) -> web.Response:
    group, user, member = await _membership(request, "identity:check_user_in_group")
    if not member:
        raise NotFound(f"User {user.id} is not a member of group {group.id}.")
    return web.Response(status=204)


@routes.delete("/v3/groups/{group_id}/users/{user_id}")
async def remove_member(request: web.Request) -> web.Response:
    group, user, member = await _membership(request, "identity:remove_user_from_group")
    if not member:
        raise NotFound(f"User {user.id} is not a member of group {group.id}.")
    event = ev.UserRemovedFromGroup(group_id=group.id, user_id=user.id)
    await record(request, f"group-{group.id}", [event])
    return web.Response(status=204)
