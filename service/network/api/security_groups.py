"""/v2.0/security-groups and /v2.0/security-group-rules: Neutron's view of the same
groups Nova's os-security-groups proxy serves (compute events on `secgroup-<id>`), with
every rule, ingress and egress. Every project has its `default` group, made on first
use; only an admin may delete it, nobody may rename it or make another."""

import ipaddress
from typing import Annotated

import msgspec
from aiohttp import web
from msgspec import UNSET, Meta, UnsetType

from events.store import NO_STREAM, StreamAppend
from events.types import Event
from service.auth import AuthContext
from service.compute import events as cev
from service.compute.api.security_groups import (
    DEFAULT,
    deletion,
    ensure_default,
    may_see,
    rules_of,
    stream,
)
from service.compute.directory import SecurityGroup, SecurityGroupRule, get
from service.errors import BadRequest, Conflict, NotFound
from service.http.recording import new_uuid, record_streams, store
from service.network import quota
from service.network.api.common import (
    Json,
    fields_of,
    given,
    listable,
    listing,
    one,
    read_changes,
    standard,
)
from service.network.api.networks import owner_of
from service.network.policy_rules import authorize
from service.network.protocols import PROTOCOLS

ROUTES = web.RouteTableDef()
Text = Annotated[str, Meta(max_length=255)]
_PORTED = {"tcp", "udp", "dccp", "sctp", "udplite", "6", "17", "33", "132", "136"}
_ICMP = {"icmp", "icmpv6", "ipv6-icmp", "1", "58"}


class GroupBody(msgspec.Struct, forbid_unknown_fields=True):
    name: Text | UnsetType = UNSET
    description: Text | UnsetType = UNSET
    project_id: str | UnsetType = UNSET
    tenant_id: str | UnsetType = UNSET
    stateful: bool | UnsetType = UNSET


class RuleBody(msgspec.Struct, forbid_unknown_fields=True):
    security_group_id: str
    direction: str
    ethertype: str = "IPv4"
    protocol: str | int | None = None
    port_range_min: int | None = None
    port_range_max: int | None = None
    remote_ip_prefix: str | None = None
    remote_group_id: str | None = None
    remote_address_group_id: None = None
    description: Text = ""
    project_id: str | UnsetType = UNSET
    tenant_id: str | UnsetType = UNSET


def rule_view(rule: SecurityGroupRule, group: SecurityGroup) -> Json:
    return {
        "id": rule.id,
        "security_group_id": rule.group_id,
        "direction": rule.direction,
        "ethertype": rule.ethertype,
        "protocol": rule.protocol,
        "port_range_min": rule.port_range_min,
        "port_range_max": rule.port_range_max,
        "remote_ip_prefix": rule.remote_ip_prefix,
        "remote_group_id": rule.remote_group_id,
        "remote_address_group_id": None,
        "normalized_cidr": rule.remote_ip_prefix,
        "description": "",
        "belongs_to_default_sg": group.name == DEFAULT,
    } | standard(group.project_id, group.created_at, group.created_at, 0)


def view(group: SecurityGroup, rules: list[SecurityGroupRule]) -> Json:
    """A group as Neutron shows it, with its rules."""
    return {
        "id": group.id,
        "name": group.name,
        "description": group.description,
        "stateful": True,
        "shared": False,
        "security_group_rules": [rule_view(r, group) for r in rules],
    } | standard(group.project_id, group.created_at, group.created_at, 0)


async def views(request: web.Request, groups: list[SecurityGroup]) -> list[Json]:
    """The groups as Neutron shows them, with all their rules."""
    rules = await rules_of(request, groups)
    return [view(g, rules[g.id]) for g in groups]


async def visible_group(request: web.Request, ctx: AuthContext, group_id: str) -> SecurityGroup:
    found = await get(store(request).pool, SecurityGroup, group_id)
    if found is None or not may_see(ctx, found):
        raise NotFound(f"Security group {group_id} does not exist")
    return found


async def _shown(request: web.Request, ctx: AuthContext, group_id: str) -> Json:
    return (await views(request, [await visible_group(request, ctx, group_id)]))[0]


@ROUTES.get("/v2.0/security-groups")
async def list_groups(request: web.Request) -> web.Response:
    """The caller's project's groups (any project's for an admin)."""
    ctx = authorize(request, "get_security_group")
    await ensure_default(request, ctx.project_id)
    groups = await listable(request, ctx, SecurityGroup)
    return listing(request, "security_groups", await views(request, groups))


@ROUTES.get("/v2.0/security-groups/{group_id}")
async def show_group(request: web.Request) -> web.Response:
    ctx = authorize(request, "get_security_group")
    shown = await _shown(request, ctx, request.match_info["group_id"])
    return fields_of(request, "security_group", shown)


@ROUTES.post("/v2.0/security-groups")
async def create_group(request: web.Request) -> web.Response:
    """201 with the group and its two default egress rules, as Neutron makes them."""
    body = await read_changes(request, "security_group", GroupBody)
    ctx = authorize(request, "create_security_group")
    project_id = owner_of(ctx, body.project_id, body.tenant_id)
    authorize(request, "create_security_group", {"project_id": project_id})
    await ensure_default(request, project_id)
    name = str(body.name) if given(body.name) else ""
    if name == DEFAULT:
        raise Conflict("Default security group already exists.")
    await quota.check(store(request).pool, project_id, "security_group")
    group_id = new_uuid(request)
    events: list[Event] = [
        cev.SecurityGroupCreated(
            group_id=group_id,
            project_id=project_id,
            name=name,
            description=str(body.description) if given(body.description) else "",
        ),
        *(
            cev.SecurityGroupRuleAdded(
                group_id=group_id,
                rule_id=new_uuid(request),
                direction="egress",
                ethertype=ethertype,
            )
            for ethertype in ("IPv4", "IPv6")
        ),
    ]
    await record_streams(request, [StreamAppend(stream(group_id), events, NO_STREAM)])
    return one("security_group", await _shown(request, ctx, group_id), status=201)


@ROUTES.put("/v2.0/security-groups/{group_id}")
async def update_group(request: web.Request) -> web.Response:
    ctx = authorize(request, "get_security_group")
    group = await visible_group(request, ctx, request.match_info["group_id"])
    body = await read_changes(request, "security_group", GroupBody)
    authorize(request, "update_security_group", {"project_id": group.project_id})
    if given(body.name) and body.name != group.name and DEFAULT in (body.name, group.name):
        raise Conflict("Insufficient rights for removing default security group.")
    changed = cev.SecurityGroupUpdated(
        group_id=group.id, name=body.name, description=body.description
    )
    await record_streams(request, [StreamAppend(stream(group.id), [changed])])
    return one("security_group", await _shown(request, ctx, group.id))


@ROUTES.delete("/v2.0/security-groups/{group_id}")
async def delete_group(request: web.Request) -> web.Response:
    """204; a group a port or server uses is a 409, and so is `default` unless an admin
    deletes it (as Tempest does when it removes a project)."""
    ctx = authorize(request, "get_security_group")
    group = await visible_group(request, ctx, request.match_info["group_id"])
    authorize(request, "delete_security_group", {"project_id": group.project_id})
    if group.name == DEFAULT and not ctx.is_admin:
        raise Conflict("Insufficient rights for removing default security group.")
    pool = store(request).pool
    in_use = await pool.fetchval(
        "SELECT 1 FROM rm_ports WHERE $1 = ANY(security_groups) UNION ALL"
        " SELECT 1 FROM rm_servers WHERE NOT deleted AND project_id = $2"
        " AND $3 = ANY(security_groups) LIMIT 1",
        group.id,
        group.project_id,
        group.name,
    )
    if in_use:
        raise Conflict(f"Security Group {group.id} in use.")
    await record_streams(request, await deletion(request, group))
    return web.Response(status=204)


# --- rules ---------------------------------------------------------------------------------


def _protocol(value: str | int | None, ethertype: str) -> str | None:
    if value is None or str(value).lower() in ("any", ""):
        return None
    text = str(value).lower()
    if text.isdigit():
        if int(text) > 255:
            raise BadRequest(f"Security group rule protocol {value} not supported.")
        return text
    if text not in PROTOCOLS:
        raise BadRequest(
            f"Security group rule protocol {value} not supported. Only protocol values "
            f"{sorted(PROTOCOLS)} and integer representations [0 to 255] are supported."
        )
    if text == "icmp" and ethertype == "IPv6":
        return "ipv6-icmp"
    return text


def _ports(protocol: str | None, low: int | None, high: int | None) -> None:
    """Neutron's checks of a rule's port range (or ICMP type and code)."""
    if protocol in _PORTED:
        for port in (low, high):
            if port is not None and not 0 <= port <= 65535:
                raise BadRequest(f"Invalid value for port {port}.")
        if (low is None) != (high is None) or (low is not None and high is not None and low > high):
            raise BadRequest("For TCP/UDP protocols, port_range_min must be <= port_range_max")
    elif protocol in _ICMP:
        if low is None and high is not None:
            raise BadRequest(
                f"ICMP type (port-range-min) is missing for ICMP code (port-range-max) {high}."
            )
        for value, what in ((low, "type"), (high, "code")):
            if value is not None and not 0 <= value <= 255:
                raise BadRequest(f"Invalid value for ICMP {what}: {value}.")
    elif low is not None or high is not None:
        raise BadRequest("Port ranges apply only to TCP, UDP, DCCP, SCTP and UDP-Lite rules.")


def _prefix(text: str | None, ethertype: str) -> str | None:
    if text is None:
        return None
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise BadRequest(
            f"Invalid input for remote_ip_prefix: '{text}' is not a valid CIDR."
        ) from None
    if f"IPv{network.version}" != ethertype:
        raise BadRequest(f"Conflicting value ethertype {ethertype} for CIDR {text}.")
    return str(network)


async def _new_rule(request: web.Request, ctx: AuthContext, body: RuleBody) -> SecurityGroupRule:
    group = await visible_group(request, ctx, body.security_group_id)
    authorize(request, "create_security_group_rule", {"project_id": group.project_id})
    if body.direction not in ("ingress", "egress"):
        raise BadRequest(f"Invalid input for direction: '{body.direction}'.")
    if body.ethertype not in ("IPv4", "IPv6"):
        raise BadRequest(f"Invalid input for ethertype: '{body.ethertype}'.")
    if body.remote_ip_prefix is not None and body.remote_group_id is not None:
        raise BadRequest("Only remote_ip_prefix or remote_group_id may be provided.")
    if body.remote_group_id is not None:
        await visible_group(request, ctx, body.remote_group_id)
    protocol = _protocol(body.protocol, body.ethertype)
    _ports(protocol, body.port_range_min, body.port_range_max)
    return SecurityGroupRule(
        id=new_uuid(request),
        group_id=group.id,
        direction=body.direction,
        ethertype=body.ethertype,
        protocol=protocol,
        port_range_min=body.port_range_min,
        port_range_max=body.port_range_max,
        remote_ip_prefix=_prefix(body.remote_ip_prefix, body.ethertype),
        remote_group_id=body.remote_group_id,
    )


async def _visible_rule(
    request: web.Request, ctx: AuthContext, rule_id: str
) -> tuple[SecurityGroupRule, SecurityGroup]:
    rule = await get(store(request).pool, SecurityGroupRule, rule_id)
    group = None if rule is None else await get(store(request).pool, SecurityGroup, rule.group_id)
    if rule is None or group is None or not may_see(ctx, group):
        raise NotFound(f"Security group rule {rule_id} does not exist")
    return rule, group


@ROUTES.post("/v2.0/security-group-rules")
async def create_rule(request: web.Request) -> web.Response:
    body = await read_changes(request, "security_group_rule", RuleBody)
    ctx = authorize(request, "get_security_group_rule")
    rule = await _new_rule(request, ctx, body)
    group = await visible_group(request, ctx, rule.group_id)
    for existing in (await rules_of(request, [group]))[group.id]:
        if msgspec.structs.replace(existing, id=rule.id) == rule:
            raise Conflict(f"Security group rule already exists. Rule id is {existing.id}.")
    await quota.check(store(request).pool, group.project_id, "security_group_rule")
    added = cev.SecurityGroupRuleAdded(
        group_id=group.id,
        rule_id=rule.id,
        direction=rule.direction,
        ethertype=rule.ethertype,
        protocol=rule.protocol,
        port_range_min=rule.port_range_min,
        port_range_max=rule.port_range_max,
        remote_ip_prefix=rule.remote_ip_prefix,
        remote_group_id=rule.remote_group_id,
    )
    await record_streams(request, [StreamAppend(stream(group.id), [added])])
    return one("security_group_rule", rule_view(rule, group), status=201)


@ROUTES.get("/v2.0/security-group-rules")
async def list_rules(request: web.Request) -> web.Response:
    ctx = authorize(request, "get_security_group_rule")
    await ensure_default(request, ctx.project_id)
    groups = await listable(request, ctx, SecurityGroup)
    rules = await rules_of(request, groups)
    shown = [rule_view(r, g) for g in groups for r in rules[g.id]]
    return listing(request, "security_group_rules", shown)


@ROUTES.get("/v2.0/security-group-rules/{rule_id}")
async def show_rule(request: web.Request) -> web.Response:
    ctx = authorize(request, "get_security_group_rule")
    rule, group = await _visible_rule(request, ctx, request.match_info["rule_id"])
    return fields_of(request, "security_group_rule", rule_view(rule, group))


@ROUTES.delete("/v2.0/security-group-rules/{rule_id}")
async def delete_rule(request: web.Request) -> web.Response:
    ctx = authorize(request, "get_security_group_rule")
    rule, group = await _visible_rule(request, ctx, request.match_info["rule_id"])
    authorize(request, "delete_security_group_rule", {"project_id": group.project_id})
    removed = cev.SecurityGroupRuleRemoved(group_id=group.id, rule_id=rule.id)
    await record_streams(request, [StreamAppend(stream(group.id), [removed])])
    return web.Response(status=204)
