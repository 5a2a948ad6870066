"""Security groups through Nova's proxy API (/v2.1/os-security-groups and
/v2.1/os-security-group-rules, gone from 2.36 as in Nova), stored as events.

Every project has a `default` group (ingress from its own members, egress anywhere, for
IPv4 and IPv6), created on its first use as Neutron does; it cannot be deleted or
renamed. Nova's view shows ingress rules only. A group a caller may not see is a 404.
"""

import ipaddress
from collections.abc import Iterable
from typing import Annotated, Any

import msgspec
from aiohttp import web
from msgspec import Meta

from events.store import NO_STREAM, StreamAppend
from events.types import Event
from service.auth import AuthContext
from service.compute import events as ev
from service.compute.api.microversion import version_of
from service.compute.api.params import is_uuid
from service.compute.directory import SecurityGroup, SecurityGroupRule, get, select
from service.compute.policy_rules import authorize
from service.errors import BadRequest, Conflict, NotFound
from service.http.body import json_response, read_json
from service.http.recording import flag, new_uuid, record, record_streams, store

ROUTES = web.RouteTableDef()

DEFAULT = "default"
Text = Annotated[str, Meta(max_length=255)]
PortValue = int | str | None


class GroupBody(msgspec.Struct):
    name: Text
    description: Text


class GroupRequest(msgspec.Struct):
    security_group: GroupBody


class RuleBody(msgspec.Struct):
    parent_group_id: str
    ip_protocol: str | None = None
    from_port: PortValue = None
    to_port: PortValue = None
    cidr: str | None = None
    group_id: str | None = None


class RuleRequest(msgspec.Struct):
    security_group_rule: RuleBody


def stream(group_id: str) -> str:
    return f"secgroup-{group_id}"


async def ensure_default(request: web.Request, project_id: str | None) -> None:
    """Create the project's `default` group unless it exists (a concurrent request that
    creates it first is fine)."""
    if project_id is None:
        return
    pool = store(request).pool
    if await select(pool, SecurityGroup, "project_id = $1 AND name = $2", project_id, DEFAULT):
        return
    group_id = new_uuid(request)
    events: list[Event] = [
        ev.SecurityGroupCreated(
            group_id=group_id, project_id=project_id, name=DEFAULT,
            description="Default security group",
        )
    ]  # fmt: skip
    for ethertype in ("IPv4", "IPv6"):
        events += [
            ev.SecurityGroupRuleAdded(group_id=group_id, rule_id=new_uuid(request),
                                      ethertype=ethertype, remote_group_id=group_id),
            ev.SecurityGroupRuleAdded(group_id=group_id, rule_id=new_uuid(request),
                                      direction="egress", ethertype=ethertype),
        ]  # fmt: skip
    try:
        await record(request, stream(group_id), events, NO_STREAM)
    except Conflict:
        pass  # the unique default of the project was just made by another request


def may_see(ctx: AuthContext, group: SecurityGroup) -> bool:
    return ctx.is_admin or group.project_id == ctx.project_id


async def visible_group(request: web.Request, ctx: AuthContext, group_id: str) -> SecurityGroup:
    """The group if the caller may see it; NotFound (404) otherwise, as if it did not exist."""
    found = await get(store(request).pool, SecurityGroup, group_id)
    if found is None or not may_see(ctx, found):
        raise NotFound(f"Security group {group_id} not found.")
    return found


async def rules_of(
    request: web.Request, groups: Iterable[SecurityGroup]
) -> dict[str, list[SecurityGroupRule]]:
    """The rules of each group, by group id."""
    ids = [g.id for g in groups]
    found: dict[str, list[SecurityGroupRule]] = {group_id: [] for group_id in ids}
    for rule in await select(store(request).pool, SecurityGroupRule, "group_id = ANY($1)", ids):
        found[rule.group_id].append(rule)
    return found


async def deletion(request: web.Request, group: SecurityGroup) -> list[StreamAppend]:
    """The appends deleting `group`: its own end, and the removal of the rules of other
    groups that admit it (as Neutron's cascade removes them)."""
    naming = await select(
        store(request).pool,
        SecurityGroupRule,
        "remote_group_id = $1 AND group_id <> $1",
        group.id,
    )
    removals: dict[str, list[Event]] = {}
    for rule in naming:
        removed = ev.SecurityGroupRuleRemoved(group_id=rule.group_id, rule_id=rule.id)
        removals.setdefault(rule.group_id, []).append(removed)
    return [
        StreamAppend(stream(group.id), [ev.SecurityGroupDeleted(group_id=group.id)]),
        *(StreamAppend(stream(other), events) for other, events in removals.items()),
    ]


async def groups_by_id(request: web.Request, ids: Iterable[str | None]) -> dict[str, SecurityGroup]:
    wanted = sorted({i for i in ids if i is not None})
    groups = await select(store(request).pool, SecurityGroup, "id = ANY($1)", wanted)
    return {g.id: g for g in groups}


# --- Nova's view -------------------------------------------------------------------------


def nova_rule(rule: SecurityGroupRule, remote: SecurityGroup | None) -> dict[str, Any]:
    """A rule as Nova's proxy shows it (ports of a protocol rule without ports are its
    whole range; a rule from a group names the group, others their CIDR)."""
    low, high = rule.port_range_min, rule.port_range_max
    if rule.protocol is not None and low is None and high is None:
        low, high = (1, 65535) if rule.protocol.lower() in ("tcp", "udp") else (-1, -1)
    view: dict[str, Any] = {
        "id": rule.id, "parent_group_id": rule.group_id, "ip_protocol": rule.protocol,
        "from_port": low, "to_port": high, "group": {}, "ip_range": {},
    }  # fmt: skip
    if rule.remote_group_id is not None:
        if remote is not None:
            view["group"] = {"name": remote.name, "tenant_id": remote.project_id}
    else:
        any_address = "0.0.0.0/0" if rule.ethertype == "IPv4" else "::/0"
        view["ip_range"] = {"cidr": rule.remote_ip_prefix or any_address}
    return view


async def nova_groups(request: web.Request, groups: list[SecurityGroup]) -> list[dict[str, Any]]:
    """The groups as Nova's proxy shows them, with their ingress rules."""
    rules = await rules_of(request, groups)
    remotes = await groups_by_id(request, (r.remote_group_id for g in rules.values() for r in g))
    return [
        {
            "id": group.id,
            "name": group.name,
            "tenant_id": group.project_id,
            "description": group.description,
            "rules": [
                nova_rule(r, remotes.get(r.remote_group_id or ""))
                for r in rules[group.id]
                if r.direction == "ingress"
            ],
        }
        for group in groups
    ]


async def _one(request: web.Request, group: SecurityGroup) -> web.Response:
    return json_response({"security_group": (await nova_groups(request, [group]))[0]})


def _proxy(request: web.Request) -> None:
    """Nova removed its network proxies at 2.36."""
    if version_of(request).at_least("2.36"):
        raise NotFound("The resource could not be found.")


async def _authorized(request: web.Request, action: str) -> tuple[AuthContext, SecurityGroup]:
    _proxy(request)
    ctx = authorize(request, action)
    return ctx, await visible_group(request, ctx, request.match_info["group_id"])


@ROUTES.get("/v2.1/os-security-groups")
async def list_groups(request: web.Request) -> web.Response:
    """The caller's project's groups (all projects' for an admin with `all_tenants`)."""
    _proxy(request)
    ctx = authorize(request, "os_compute_api:os-security-groups:get")
    await ensure_default(request, ctx.project_id)
    if ctx.is_admin and flag(request, "all_tenants"):
        groups = await select(store(request).pool, SecurityGroup)
    else:
        groups = await select(store(request).pool, SecurityGroup, "project_id = $1", ctx.project_id)
    return json_response({"security_groups": await nova_groups(request, groups)})


@ROUTES.post("/v2.1/os-security-groups")
async def create_group(request: web.Request) -> web.Response:
    _proxy(request)
    ctx = authorize(request, "os_compute_api:os-security-groups:create")
    body = (await read_json(request, GroupRequest)).security_group
    if ctx.project_id is None:
        raise BadRequest("A project-scoped token is required to create a security group.")
    await ensure_default(request, ctx.project_id)
    if body.name == DEFAULT:
        raise Conflict("Default security group already exists.")
    group_id = new_uuid(request)
    created = ev.SecurityGroupCreated(
        group_id=group_id, project_id=ctx.project_id, name=body.name, description=body.description
    )
    await record(request, stream(group_id), [created], NO_STREAM)
    return await _one(request, await visible_group(request, ctx, group_id))


@ROUTES.get("/v2.1/os-security-groups/{group_id}")
async def show_group(request: web.Request) -> web.Response:
    _, group = await _authorized(request, "os_compute_api:os-security-groups:show")
    return await _one(request, group)


@ROUTES.put("/v2.1/os-security-groups/{group_id}")
async def update_group(request: web.Request) -> web.Response:
    ctx, group = await _authorized(request, "os_compute_api:os-security-groups:update")
    body = (await read_json(request, GroupRequest)).security_group
    if DEFAULT in (group.name, body.name) and body.name != group.name:
        raise BadRequest("Updating default security group not allowed.")
    changed = ev.SecurityGroupUpdated(
        group_id=group.id, name=body.name, description=body.description
    )
    await record(request, stream(group.id), [changed])
    return await _one(request, await visible_group(request, ctx, group.id))


@ROUTES.delete("/v2.1/os-security-groups/{group_id}")
async def delete_group(request: web.Request) -> web.Response:
    """202; a `default` group or one a server uses is a 400."""
    _, group = await _authorized(request, "os_compute_api:os-security-groups:delete")
    if group.name == DEFAULT:
        raise BadRequest("Removing default security group not allowed.")
    in_use = await store(request).pool.fetchval(
        "SELECT 1 FROM rm_servers WHERE NOT deleted AND project_id = $1"
        " AND $2 = ANY(security_groups) LIMIT 1", group.project_id, group.name,
    )  # fmt: skip
    if in_use:
        raise BadRequest(f"Security group {group.id} is in use.")
    await record_streams(request, await deletion(request, group))
    return web.Response(status=202)


# --- rules ---------------------------------------------------------------------------------


def _port(value: PortValue, name: str) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"Invalid {name} {value!r}: it must be an integer.") from None


def protocol_and_ports(body: RuleBody) -> tuple[str | None, int | None, int | None]:
    """Nova's checks of a rule's protocol and ports, and the ports as Neutron stores them
    (None for ICMP's -1, "any"). BadRequest names what is wrong."""
    low, high = _port(body.from_port, "from_port"), _port(body.to_port, "to_port")
    if body.ip_protocol is None and low is None and high is None:
        return None, None, None
    protocol = str(body.ip_protocol).lower()
    if protocol in ("tcp", "udp"):
        if low is None or high is None or not 1 <= low <= high <= 65535:
            raise BadRequest(
                f"Invalid port range {low}:{high}. Valid {protocol.upper()} ports should be "
                "between 1-65535 and the former not greater than the later."
            )
        return protocol, low, high
    if protocol == "icmp":
        if low is None or high is None or not (-1 <= low <= 255 and -1 <= high <= 255):
            raise BadRequest("Type and Code must be integers for ICMP protocol type.")
        return protocol, None if low == -1 else low, None if high == -1 else high
    if not protocol.isdigit() or int(protocol) > 255:
        raise BadRequest(f"Invalid IP protocol {body.ip_protocol}.")
    return protocol, low, high


def _network(cidr: str | None) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface:
    """The CIDR a rule admits, as given (host bits and all, as Neutron keeps it; the
    firewall reads its network); any address by default."""
    try:
        given = ipaddress.ip_interface(cidr or "0.0.0.0/0")
    except ValueError:
        raise BadRequest(f"Invalid cidr {cidr}.") from None
    if given.network.prefixlen == 0 and not given.ip.is_unspecified:
        raise BadRequest(f"Bad prefix for network in cidr {cidr}")
    return given


@ROUTES.post("/v2.1/os-security-group-rules")
async def create_rule(request: web.Request) -> web.Response:
    """An ingress rule from a CIDR (any address by default) or from another group."""
    _proxy(request)
    ctx = authorize(request, "os_compute_api:os-security-groups:rule:create")
    body = (await read_json(request, RuleRequest)).security_group_rule
    for given in (body.parent_group_id, body.group_id):
        if given is not None and not is_uuid(given):  # Nova's check of the ids' form
            raise BadRequest(f"Invalid security group id {given}.")
    parent = await visible_group(request, ctx, body.parent_group_id)
    protocol, low, high = protocol_and_ports(body)
    remote = None if body.group_id is None else await visible_group(request, ctx, body.group_id)
    network = None if remote is not None else _network(body.cidr)
    rule = SecurityGroupRule(
        id=new_uuid(request), group_id=parent.id, direction="ingress",
        ethertype="IPv6" if network is not None and network.version == 6 else "IPv4",
        protocol=protocol, port_range_min=low, port_range_max=high,
        remote_ip_prefix=None if network is None else str(network),
        remote_group_id=None if remote is None else remote.id,
    )  # fmt: skip
    existing = (await rules_of(request, [parent]))[parent.id]
    if any(msgspec.structs.replace(r, id=rule.id) == rule for r in existing):
        raise BadRequest(f"This rule already exists in group {parent.id}")
    added = ev.SecurityGroupRuleAdded(
        group_id=parent.id, rule_id=rule.id, direction=rule.direction, ethertype=rule.ethertype,
        protocol=protocol, port_range_min=low, port_range_max=high,
        remote_ip_prefix=rule.remote_ip_prefix, remote_group_id=rule.remote_group_id,
    )  # fmt: skip
    await record(request, stream(parent.id), [added])
    return json_response({"security_group_rule": nova_rule(rule, remote)})


@ROUTES.delete("/v2.1/os-security-group-rules/{rule_id}")
async def delete_rule(request: web.Request) -> web.Response:
    _proxy(request)
    ctx = authorize(request, "os_compute_api:os-security-groups:rule:delete")
    rule_id = request.match_info["rule_id"]
    rule = await get(store(request).pool, SecurityGroupRule, rule_id)
    group = None if rule is None else await get(store(request).pool, SecurityGroup, rule.group_id)
    if rule is None or group is None or not may_see(ctx, group):
        raise NotFound(f"Security group rule {rule_id} not found.")
    removed = ev.SecurityGroupRuleRemoved(group_id=group.id, rule_id=rule.id)
    await record(request, stream(group.id), [removed])
    return web.Response(status=202)
