"""/v2.0/subnets: IPv4 subnets of a network with their gateway, allocation pools, DNS
servers, host routes and DHCP flag. CIDRs may overlap across networks (and projects),
never within one network (400; the projection checks it again under a lock on the
network, so two racing creates cannot both get in)."""

import ipaddress
from typing import Annotated, Any

import msgspec
from aiohttp import web
from msgspec import UNSET, Meta, UnsetType

from events.store import NO_STREAM, StreamAppend
from service.auth import AuthContext
from service.compute.directory import get
from service.errors import BadRequest, Conflict, NotFound
from service.http.recording import new_uuid, record_streams, store
from service.network import events as ev
from service.network import ipam, quota
from service.network.api.common import (
    Json,
    created,
    fields_of,
    given,
    listable,
    listing,
    one,
    or_default,
    read_changes,
    read_items,
    standard,
)
from service.network.api.networks import owner_of, visible_network
from service.network.directory import NETWORK_VISIBLE, ROUTER_INTERFACE, Subnet
from service.network.policy_rules import authorize
from service.network.projection import overlap_message

ROUTES = web.RouteTableDef()
Text = Annotated[str, Meta(max_length=255)]


class SubnetBody(msgspec.Struct, forbid_unknown_fields=True):
    network_id: str | UnsetType = UNSET
    cidr: str | UnsetType = UNSET
    ip_version: int | UnsetType = UNSET
    name: Text | UnsetType = UNSET
    description: Text | UnsetType = UNSET
    gateway_ip: str | None | UnsetType = UNSET
    allocation_pools: list[ev.AllocationPool] | UnsetType = UNSET
    dns_nameservers: list[str] | UnsetType = UNSET
    host_routes: list[ev.HostRoute] | UnsetType = UNSET
    enable_dhcp: bool | UnsetType = UNSET
    project_id: str | UnsetType = UNSET
    tenant_id: str | UnsetType = UNSET
    subnetpool_id: None | UnsetType = UNSET
    ipv6_ra_mode: None | UnsetType = UNSET
    ipv6_address_mode: None | UnsetType = UNSET
    service_types: list[str] | UnsetType = UNSET
    segment_id: None | UnsetType = UNSET


def view(subnet: Subnet) -> Json:
    return {
        "id": subnet.id,
        "name": subnet.name,
        "description": subnet.description,
        "network_id": subnet.network_id,
        "ip_version": subnet.ip_version,
        "cidr": subnet.cidr,
        "gateway_ip": subnet.gateway_ip,
        "allocation_pools": [msgspec.to_builtins(p) for p in subnet.allocation_pools],
        "dns_nameservers": subnet.dns_nameservers,
        "host_routes": [msgspec.to_builtins(r) for r in subnet.host_routes],
        "enable_dhcp": subnet.enable_dhcp,
        "subnetpool_id": None,
        "ipv6_ra_mode": None,
        "ipv6_address_mode": None,
        "service_types": [],
        "segment_id": None,
        "dns_publish_fixed_ip": False,
    } | standard(subnet.project_id, subnet.created_at, subnet.updated_at, subnet.revision_number)


async def visible_subnet(request: web.Request, ctx: AuthContext, subnet_id: str) -> Subnet:
    """The subnet if the caller may see it (its own, or on a network it sees); 404 else."""
    subnet = await get(store(request).pool, Subnet, subnet_id)
    if subnet is not None and (ctx.is_admin or subnet.project_id == ctx.project_id):
        return subnet
    if subnet is not None:
        try:
            await visible_network(request, ctx, subnet.network_id)
            return subnet
        except NotFound:
            pass
    raise NotFound(f"Subnet {subnet_id} could not be found.")


def _cidr(text: str) -> ipaddress.IPv4Network:
    try:
        network = ipaddress.ip_network(text)
    except ValueError:
        raise BadRequest(
            f"Invalid input for cidr. Reason: '{text}' is not a valid IP subnet."
        ) from None
    if network.version != 4:
        raise BadRequest("Invalid input for operation: Kumo serves IPv4 subnets only.")
    if network.prefixlen > 30:
        raise BadRequest(f"Invalid input for cidr: {text} is too small a subnet.")
    return network


def _address(text: str, what: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise BadRequest(
            f"Invalid input for {what}. Reason: '{text}' is not a valid IP address."
        ) from None


def _gateway(network: ipaddress.IPv4Network, text: str | None) -> ipaddress.IPv4Address | None:
    if text is None:
        return None
    gateway = _address(text, "gateway_ip")
    if not isinstance(gateway, ipaddress.IPv4Address) or gateway not in network:
        raise BadRequest(f"Invalid input for operation: Gateway is not valid on subnet {network}.")
    if gateway in (network.network_address, network.broadcast_address):
        raise BadRequest(f"Gateway ip {gateway} conflicts with the subnet's own addresses.")
    return gateway


def _dns(servers: list[str] | UnsetType) -> tuple[str, ...] | UnsetType:
    if isinstance(servers, UnsetType):
        return UNSET
    for server in servers:
        _address(server, "dns_nameservers")
    if len(set(servers)) != len(servers):
        raise BadRequest(f"Duplicate nameserver in {servers}.")
    return tuple(servers)


def _routes(routes: list[ev.HostRoute] | UnsetType) -> tuple[ev.HostRoute, ...] | UnsetType:
    if isinstance(routes, UnsetType):
        return UNSET
    for route in routes:
        try:
            ipaddress.ip_network(route.destination)
        except ValueError:
            raise BadRequest(f"Invalid host route destination {route.destination}.") from None
        _address(route.nexthop, "host_routes")
    return tuple(routes)


async def _new_subnet(request: web.Request, ctx: AuthContext, body: SubnetBody) -> ev.SubnetCreated:
    if not given(body.network_id) or not given(body.cidr):
        raise BadRequest("Invalid input: network_id and cidr are required.")
    if given(body.ip_version) and body.ip_version != 4:
        raise BadRequest("Invalid input for operation: Kumo serves IPv4 subnets only.")
    network = await visible_network(request, ctx, str(body.network_id))
    authorize(request, "create_subnet", {"project_id": network.project_id})
    project_id = owner_of(ctx, body.project_id, body.tenant_id)
    cidr = _cidr(str(body.cidr))
    first, _ = ipam.hosts(cidr)
    gateway = _gateway(cidr, or_default(body.gateway_ip, str(first)))
    if isinstance(body.allocation_pools, UnsetType):
        pools = ipam.default_pools(cidr, gateway)
    else:
        pools = tuple(body.allocation_pools)
        ipam.check_pools(cidr, gateway, pools)
    await _check_overlap(request, network.id, cidr)
    return ev.SubnetCreated(
        subnet_id=new_uuid(request),
        network_id=network.id,
        project_id=project_id,
        cidr=str(cidr),
        ip_version=4,
        gateway_ip=None if gateway is None else str(gateway),
        allocation_pools=pools,
        dns_nameservers=or_default(_dns(body.dns_nameservers), ()),
        host_routes=or_default(_routes(body.host_routes), ()),
        enable_dhcp=or_default(body.enable_dhcp, True),
        name=or_default(body.name, ""),
        description=or_default(body.description, ""),
    )


async def _check_overlap(request: web.Request, network_id: str, cidr: Any) -> None:
    clash = await store(request).pool.fetchval(
        "SELECT 1 FROM rm_subnets WHERE network_id = $1 AND cidr::cidr && $2::cidr",
        network_id,
        str(cidr),
    )
    if clash:
        raise BadRequest(overlap_message(str(cidr), network_id))


@ROUTES.post("/v2.0/subnets")
async def create_subnets(request: web.Request) -> web.Response:
    bodies, bulk = await read_items(request, "subnet", "subnets", SubnetBody)
    ctx = authorize(request, "create_subnet")
    new = [await _new_subnet(request, ctx, body) for body in bodies]
    for project_id in {e.project_id for e in new}:
        count = sum(e.project_id == project_id for e in new)
        await quota.check(store(request).pool, project_id, "subnet", count)
    await record_streams(
        request, [StreamAppend(f"subnet-{e.subnet_id}", [e], NO_STREAM) for e in new]
    )
    shown = [view(await visible_subnet(request, ctx, e.subnet_id)) for e in new]
    return created("subnet", "subnets", shown, bulk)


@ROUTES.get("/v2.0/subnets")
async def list_subnets(request: web.Request) -> web.Response:
    ctx = authorize(request, "get_subnet")
    networks = NETWORK_VISIBLE.format(p="$1")
    in_visible = f"project_id = $1 OR network_id IN (SELECT id FROM rm_networks WHERE {networks})"
    subnets = await listable(request, ctx, Subnet, in_visible)
    return listing(request, "subnets", [view(s) for s in subnets])


@ROUTES.get("/v2.0/subnets/{subnet_id}")
async def show_subnet(request: web.Request) -> web.Response:
    ctx = authorize(request, "get_subnet")
    subnet = await visible_subnet(request, ctx, request.match_info["subnet_id"])
    return fields_of(request, "subnet", view(subnet))


@ROUTES.put("/v2.0/subnets/{subnet_id}")
async def update_subnet(request: web.Request) -> web.Response:
    ctx = authorize(request, "get_subnet")
    subnet = await visible_subnet(request, ctx, request.match_info["subnet_id"])
    body = await read_changes(request, "subnet", SubnetBody)
    authorize(request, "update_subnet", {"project_id": subnet.project_id})
    for name in ("network_id", "cidr", "ip_version", "project_id", "tenant_id"):
        if given(getattr(body, name)):
            raise BadRequest(f"Cannot update read-only attribute {name}.")
    cidr = ipaddress.IPv4Network(subnet.cidr)
    gateway = _gateway(cidr, or_default(body.gateway_ip, subnet.gateway_ip))
    if str(gateway) != str(subnet.gateway_ip) and await _routed_through(request, subnet):
        raise Conflict(
            f"Gateway ip {subnet.gateway_ip} of subnet {subnet.id} is in use by a router "
            "interface; it cannot change."
        )
    pools = tuple(or_default(body.allocation_pools, subnet.allocation_pools))
    if given(body.allocation_pools) or given(body.gateway_ip):
        ipam.check_pools(cidr, gateway, pools)
    changed = ev.SubnetUpdated(
        subnet_id=subnet.id,
        name=body.name,
        description=body.description,
        gateway_ip=(None if gateway is None else str(gateway)) if given(body.gateway_ip) else UNSET,
        allocation_pools=pools if given(body.allocation_pools) else UNSET,
        dns_nameservers=_dns(body.dns_nameservers),
        host_routes=_routes(body.host_routes),
        enable_dhcp=body.enable_dhcp,
    )
    stream = StreamAppend(f"subnet-{subnet.id}", [changed], subnet.revision_number)
    await record_streams(request, [stream])
    return one("subnet", view(await visible_subnet(request, ctx, subnet.id)))


async def _routed_through(request: web.Request, subnet: Subnet) -> bool:
    """Whether a router's interface holds the subnet's gateway address."""
    found = await store(request).pool.fetchval(
        "SELECT 1 FROM rm_ports, jsonb_array_elements(fixed_ips) AS ip WHERE device_owner = $1"
        " AND network_id = $2 AND ip->>'subnet_id' = $3 AND ip->>'ip_address' = $4 LIMIT 1",
        ROUTER_INTERFACE,
        subnet.network_id,
        subnet.id,
        subnet.gateway_ip,
    )
    return bool(found)


@ROUTES.delete("/v2.0/subnets/{subnet_id}")
async def delete_subnet(request: web.Request) -> web.Response:
    """204; a subnet whose addresses ports hold is a 409."""
    ctx = authorize(request, "get_subnet")
    subnet = await visible_subnet(request, ctx, request.match_info["subnet_id"])
    authorize(request, "delete_subnet", {"project_id": subnet.project_id})
    in_use = await store(request).pool.fetchval(
        "SELECT 1 FROM rm_ip_allocations WHERE subnet_id = $1 LIMIT 1", subnet.id
    )
    if in_use:
        raise Conflict(
            f"Unable to complete operation on subnet {subnet.id}: One or more ports have an IP "
            "allocation from this subnet."
        )
    deleted = ev.SubnetDeleted(subnet_id=subnet.id, project_id=subnet.project_id)
    stream = StreamAppend(f"subnet-{subnet.id}", [deleted], subnet.revision_number)
    await record_streams(request, [stream])
    return web.Response(status=204)
