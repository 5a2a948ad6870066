"""A minimal Neutron at /network/v2.0: the security groups (the same data as Nova's proxy,
in Neutron's shape, with all their rules) and an empty list of networks."""

from typing import Any

from aiohttp import web

from service.compute.api.security_groups import ensure_default, may_see, rules_of
from service.compute.directory import SecurityGroup, SecurityGroupRule, get, select
from service.compute.policy_rules import authorize
from service.errors import NotFound
from service.http.body import json_response
from service.http.recording import store

ROUTES = web.RouteTableDef()


def _time(group: SecurityGroup) -> str:
    return group.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")


def neutron_rule(rule: SecurityGroupRule, group: SecurityGroup) -> dict[str, Any]:
    return {
        "id": rule.id, "security_group_id": rule.group_id, "direction": rule.direction,
        "ethertype": rule.ethertype, "protocol": rule.protocol,
        "port_range_min": rule.port_range_min, "port_range_max": rule.port_range_max,
        "remote_ip_prefix": rule.remote_ip_prefix, "remote_group_id": rule.remote_group_id,
        "remote_address_group_id": None, "normalized_cidr": rule.remote_ip_prefix,
        "description": "", "tenant_id": group.project_id, "project_id": group.project_id,
        "tags": [], "created_at": _time(group), "updated_at": _time(group),
        "revision_number": 0,
    }  # fmt: skip


async def neutron_groups(request: web.Request, groups: list[SecurityGroup]) -> list[Any]:
    """The groups as Neutron shows them."""
    rules = await rules_of(request, groups)
    return [
        {
            "id": g.id,
            "name": g.name,
            "description": g.description,
            "tenant_id": g.project_id,
            "project_id": g.project_id,
            "stateful": True,
            "shared": False,
            "tags": [],
            "created_at": _time(g),
            "updated_at": _time(g),
            "revision_number": 0,
            "security_group_rules": [neutron_rule(r, g) for r in rules[g.id]],
        }
        for g in groups
    ]


@ROUTES.get("/v2.0/security-groups")
async def list_security_groups(request: web.Request) -> web.Response:
    """The caller's project's groups (any project's for an admin), filtered by `id`,
    `name` and `project_id` (or `tenant_id`)."""
    ctx = authorize(request, "network:get_security_group")
    await ensure_default(request, ctx.project_id)
    clauses: list[str] = []
    args: list[Any] = []
    query = request.query
    wanted = {"id": query.get("id"), "name": query.get("name"),
              "project_id": query.get("project_id") or query.get("tenant_id")}  # fmt: skip
    if not ctx.is_admin:
        wanted["project_id"] = (
            ctx.project_id if wanted["project_id"] in (None, ctx.project_id) else ""
        )
    for column, value in wanted.items():
        if value is not None:
            args.append(value)
            clauses.append(f"{column} = ${len(args)}")
    where = " AND ".join(clauses) or "true"
    groups = await select(store(request).pool, SecurityGroup, where, *args)
    return json_response({"security_groups": await neutron_groups(request, groups)})


@ROUTES.get("/v2.0/security-groups/{group_id}")
async def show_security_group(request: web.Request) -> web.Response:
    ctx = authorize(request, "network:get_security_group")
    group_id = request.match_info["group_id"]
    group = await get(store(request).pool, SecurityGroup, group_id)
    if group is None or not may_see(ctx, group):
        raise NotFound(f"Security group {group_id} does not exist")
    return json_response({"security_group": (await neutron_groups(request, [group]))[0]})


@ROUTES.get("/v2.0/networks")
async def list_networks(request: web.Request) -> web.Response:
    """No networks yet: servers get their addresses from the host."""
    authorize(request, "network:get_network")
    return json_response({"networks": []})
