"""/v2.1/os-server-groups: groups of servers the scheduler places by policy (`affinity`,
`anti-affinity`; the `soft-` ones from 2.15), up to the project's `server_groups` quota.
From 2.64 a group has one `policy` and its `rules` (anti-affinity's
`max_server_per_host`) rather than a list of `policies`. Members are the group's
servers not deleted."""

from typing import Annotated, Any

import msgspec
from aiohttp import web
from msgspec import UNSET, Meta, UnsetType

from events.store import NO_STREAM
from service.auth import AuthContext
from service.compute import events as ev
from service.compute import quota
from service.compute.api.microversion import Microversion, version_of
from service.compute.api.params import integer, only
from service.compute.directory import ServerGroup, count, get, select
from service.compute.policy_rules import authorize
from service.errors import BadRequest, NotFound
from service.http.body import json_response, read_json
from service.http.recording import flag, new_uuid, record, store

ROUTES = web.RouteTableDef()

POLICIES = ("affinity", "anti-affinity")
SOFT_POLICIES = ("soft-affinity", "soft-anti-affinity")
Name = Annotated[str, Meta(min_length=1, max_length=255, pattern=r"^\S(?:.*\S)?$")]


class NewServerGroup(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    policies: Annotated[list[str], Meta(min_length=1, max_length=1)] | UnsetType = UNSET
    policy: str | UnsetType = UNSET
    rules: dict[str, int | str] | UnsetType = UNSET


class CreateServerGroup(msgspec.Struct):
    server_group: NewServerGroup


def shown(group: ServerGroup, members: list[str], version: Microversion) -> dict[str, Any]:
    """The group as Nova shows it at `version`, with its members' ids."""
    body: dict[str, Any] = {"id": group.id, "name": group.name}
    if version.at_least("2.64"):
        body |= {"policy": group.policy, "rules": group.rules}
    else:
        body |= {"policies": [group.policy], "metadata": {}}
    body["members"] = members
    if version.at_least("2.13"):
        body |= {"project_id": group.project_id, "user_id": group.user_id}
    return body


async def view(request: web.Request, group: ServerGroup) -> dict[str, Any]:
    """The group as Nova shows it at the request's microversion."""
    members = await store(request).pool.fetch(
        "SELECT id FROM rm_servers WHERE server_group_id = $1 AND NOT deleted"
        " ORDER BY created_at, id",
        group.id,
    )
    return shown(group, [m["id"] for m in members], version_of(request))


def _policy_and_rules(body: NewServerGroup, version: Microversion) -> tuple[str, dict[str, int]]:
    """The policy a new group asks for (`policies` before 2.64, `policy` and `rules`
    from it); BadRequest (400) for what Nova's schema refuses at `version`."""
    allowed = POLICIES + (SOFT_POLICIES if version.at_least("2.15") else ())
    if not version.at_least("2.64"):
        newer = body.policy is not UNSET or body.rules is not UNSET
        if isinstance(body.policies, UnsetType) or newer:
            raise BadRequest("Invalid input for field/attribute server_group: policies only.")
        if body.policies[0] not in allowed:
            raise BadRequest(f"Invalid input for field/attribute policies. Value: {body.policies}.")
        return body.policies[0], {}
    if isinstance(body.policy, UnsetType) or body.policies is not UNSET:
        raise BadRequest("Invalid input for field/attribute server_group: policy, not policies.")
    if body.policy not in allowed:
        raise BadRequest(f"Invalid input for field/attribute policy. Value: {body.policy}.")
    rules = {} if isinstance(body.rules, UnsetType) else body.rules
    if rules and body.policy != "anti-affinity":
        raise BadRequest("Only anti-affinity policy supports rules.")
    only(rules, {"max_server_per_host"}, "rules")
    return body.policy, {k: integer(k, v, 1) for k, v in rules.items()}


def _may_see(ctx: AuthContext, group: ServerGroup) -> bool:
    return ctx.is_admin or group.project_id == ctx.project_id


@ROUTES.post("/v2.1/os-server-groups")
async def create_server_group(request: web.Request) -> web.Response:
    ctx = authorize(request, "os_compute_api:os-server-groups:create")
    body = (await read_json(request, CreateServerGroup)).server_group
    policy, rules = _policy_and_rules(body, version_of(request))
    project_id = ctx.project_id or ""
    pool = store(request).pool
    limit = (await quota.limits(pool, project_id))["server_groups"]
    if 0 <= limit <= await count(pool, ServerGroup, "project_id = $1", project_id):
        raise quota.OverQuota("Quota exceeded, too many server groups.")
    group_id = new_uuid(request)
    created = ev.ServerGroupCreated(
        group_id=group_id, project_id=project_id, user_id=ctx.user_id, name=body.name,
        policy=policy, rules=rules,
    )  # fmt: skip
    await record(request, f"servergroup-{group_id}", [created], NO_STREAM)
    group = await get(pool, ServerGroup, group_id)
    assert group is not None
    return json_response({"server_group": await view(request, group)})


@ROUTES.get("/v2.1/os-server-groups")
async def list_server_groups(request: web.Request) -> web.Response:
    """The project's groups (every project's for an admin with `all_projects`)."""
    ctx = authorize(request, "os_compute_api:os-server-groups:index")
    pool = store(request).pool
    if flag(request, "all_projects"):
        authorize(request, "os_compute_api:os-server-groups:index:all_projects")
        groups = await select(pool, ServerGroup)
    else:
        groups = await select(pool, ServerGroup, "project_id = $1", ctx.project_id)
    return json_response({"server_groups": [await view(request, g) for g in groups]})


async def _visible(request: web.Request, action: str) -> ServerGroup:
    ctx = authorize(request, action)
    group_id = request.match_info["group_id"]
    group = await get(store(request).pool, ServerGroup, group_id)
    if group is None or not _may_see(ctx, group):
        raise NotFound(f"Instance group {group_id} could not be found.")
    authorize(request, action, {"project_id": group.project_id})
    return group


@ROUTES.get("/v2.1/os-server-groups/{group_id}")
async def show_server_group(request: web.Request) -> web.Response:
    group = await _visible(request, "os_compute_api:os-server-groups:show")
    return json_response({"server_group": await view(request, group)})


@ROUTES.delete("/v2.1/os-server-groups/{group_id}")
async def delete_server_group(request: web.Request) -> web.Response:
    group = await _visible(request, "os_compute_api:os-server-groups:delete")
    await record(request, f"servergroup-{group.id}", [ev.ServerGroupDeleted(group_id=group.id)])
    return web.Response(status=204)
