"""/v2.0/floatingips: addresses of an external (`router:external`) network that a
project allocates, associates with one of its ports' fixed addresses, disassociates
and releases. As in Neutron, associating needs a router that joins the two: its gateway
on the floating IP's network and an interface on the fixed address's subnet
(service/network/reachability.py); the floating IP's `router_id` is that router."""

from typing import Annotated

import msgspec
from aiohttp import web
from msgspec import UNSET, Meta, UnsetType

from events.store import NO_STREAM, StreamAppend
from events.types import Event
from service.auth import AuthContext
from service.compute.directory import get, select
from service.errors import BadRequest, Conflict, NotFound
from service.http.recording import new_uuid, record_streams, store
from service.network import events as ev
from service.network import ipam, quota, reachability
from service.network.api.common import (
    Json,
    fields_of,
    given,
    listable,
    listing,
    one,
    or_default,
    read_changes,
    standard,
)
from service.network.api.networks import owner_of, visible_network
from service.network.api.ports import record_with_addresses, visible_port
from service.network.directory import FloatingIp, Port, Subnet
from service.network.policy_rules import authorize

ROUTES = web.RouteTableDef()


class FloatingIpBody(msgspec.Struct, forbid_unknown_fields=True):
    floating_network_id: str | UnsetType = UNSET
    floating_ip_address: str | UnsetType = UNSET
    subnet_id: str | UnsetType = UNSET
    port_id: str | None | UnsetType = UNSET
    fixed_ip_address: str | None | UnsetType = UNSET
    description: Annotated[str, Meta(max_length=255)] | UnsetType = UNSET
    project_id: str | UnsetType = UNSET
    tenant_id: str | UnsetType = UNSET


def view(fip: FloatingIp) -> Json:
    return {
        "id": fip.id,
        "floating_ip_address": fip.floating_ip_address,
        "floating_network_id": fip.floating_network_id,
        "router_id": fip.router_id,
        "port_id": fip.port_id,
        "fixed_ip_address": fip.fixed_ip_address,
        "status": "ACTIVE" if fip.port_id else "DOWN",
        "description": fip.description,
        "dns_domain": "",
        "dns_name": "",
        "port_forwardings": [],
        "qos_policy_id": None,
    } | standard(fip.project_id, fip.created_at, fip.updated_at, fip.revision_number)


async def shown(request: web.Request, ctx: AuthContext, fip_id: str) -> Json:
    return view(await visible_floating_ip(request, ctx, fip_id))


async def visible_floating_ip(request: web.Request, ctx: AuthContext, fip_id: str) -> FloatingIp:
    fip = await get(store(request).pool, FloatingIp, fip_id)
    if fip is None or not (ctx.is_admin or fip.project_id == ctx.project_id):
        raise NotFound(f"Floating IP {fip_id} could not be found.")
    return fip


async def association(
    request: web.Request,
    ctx: AuthContext,
    project_id: str,
    network_id: str,
    port_id: str | None,
    fixed: str | None | UnsetType,
    fip_id: str | None = None,
) -> ev.FloatingIpAssociated:
    """The association of a floating IP of `network_id` with a port's fixed address (the
    port's only IPv4 one unless `fixed` names it), through the router that joins the
    address's subnet to the network; 404 for a port the caller does not see or without
    such a router, 400/409 as Neutron."""
    if port_id is None:
        return ev.FloatingIpAssociated(floating_ip_id=fip_id or "", port_id=None)
    port: Port = await visible_port(request, ctx, port_id)
    if port.project_id != project_id:
        raise NotFound(f"Port {port_id} could not be found.")
    addresses = [ip for ip in port.fixed_ips if ":" not in ip.ip_address]
    if given(fixed) and fixed is not None:
        named = [ip for ip in addresses if ip.ip_address == fixed]
        if not named:
            raise BadRequest(f"Port {port_id} does not have fixed ip {fixed}.")
        address = named[0]
    elif len(addresses) == 1:
        address = addresses[0]
    else:
        raise BadRequest(
            f"Port {port_id} has {len(addresses)} IPv4 addresses; give fixed_ip_address."
        )
    db = store(request).pool
    router_id = await reachability.router_for(db, network_id, address.subnet_id, port.id)
    taken = await db.fetchval(
        "SELECT id FROM rm_floating_ips WHERE port_id = $1 AND fixed_ip_address = $2"
        " AND id IS DISTINCT FROM $3",
        port_id,
        address.ip_address,
        fip_id,
    )
    if taken:
        raise Conflict(
            f"Cannot associate floating IP with port {port_id} using fixed IP "
            f"{address.ip_address}, as that fixed IP already has a floating IP {taken}."
        )
    return ev.FloatingIpAssociated(
        floating_ip_id=fip_id or "",
        port_id=port.id,
        fixed_ip_address=address.ip_address,
        router_id=router_id,
    )


@ROUTES.post("/v2.0/floatingips")
async def create_floating_ip(request: web.Request) -> web.Response:
    body = await read_changes(request, "floatingip", FloatingIpBody)
    ctx = authorize(request, "create_floatingip")
    project_id = owner_of(ctx, body.project_id, body.tenant_id)
    authorize(request, "create_floatingip", {"project_id": project_id})
    if not given(body.floating_network_id):
        raise BadRequest("Invalid input: floating_network_id is required.")
    network = await visible_network(request, ctx, str(body.floating_network_id))
    if not network.external:
        raise BadRequest(
            f"Bad floatingip request: Network {network.id} is not a valid external network."
        )
    if given(body.floating_ip_address):
        authorize(request, "create_floatingip:floating_ip_address")
    await quota.check(store(request).pool, project_id, "floatingip")
    port_id = or_default(body.port_id, None)
    fip_id = new_uuid(request)

    async def plan() -> list[StreamAppend]:
        subnet_id, address = await _address(request, network.id, body)
        fixed = body.fixed_ip_address
        link = await association(request, ctx, project_id, network.id, port_id, fixed, fip_id)
        created = ev.FloatingIpCreated(
            floating_ip_id=fip_id,
            project_id=project_id,
            floating_network_id=network.id,
            subnet_id=subnet_id,
            floating_ip_address=address,
            description=str(body.description) if given(body.description) else "",
            port_id=link.port_id,
            fixed_ip_address=link.fixed_ip_address,
            router_id=link.router_id,
        )
        return [StreamAppend(f"floatingip-{fip_id}", [created], NO_STREAM)]

    await record_with_addresses(request, plan)
    return one("floatingip", await shown(request, ctx, fip_id), status=201)


async def _address(request: web.Request, network_id: str, body: FloatingIpBody) -> tuple[str, str]:
    """The subnet and address of a new floating IP: the one asked for, if free, or a
    free one of the external network's (first) subnets."""
    db = store(request).pool
    subnets = await select(db, Subnet, "network_id = $1", network_id)
    if given(body.subnet_id):
        subnets = [s for s in subnets if s.id == body.subnet_id]
        if not subnets:
            raise BadRequest(f"Subnet {body.subnet_id} is not on network {network_id}.")
    if given(body.floating_ip_address):
        wanted = str(body.floating_ip_address)
        holder = [s for s in subnets if ipam.contains(s, wanted)]
        if not holder:
            raise BadRequest(f"Invalid floating IP address {wanted} for network {network_id}.")
        if await ipam.taken(db, holder[0].id, [wanted]):
            raise Conflict(f"IP address {wanted} already allocated in subnet {holder[0].id}")
        return holder[0].id, wanted
    for subnet in subnets:
        chosen = await ipam.choose(db, subnet)
        if chosen is not None:
            return subnet.id, chosen
    raise ipam.AddressesExhausted(network_id)


@ROUTES.get("/v2.0/floatingips")
async def list_floating_ips(request: web.Request) -> web.Response:
    ctx = authorize(request, "get_floatingip")
    fips = await listable(request, ctx, FloatingIp)
    return listing(request, "floatingips", [view(f) for f in fips])


@ROUTES.get("/v2.0/floatingips/{fip_id}")
async def show_floating_ip(request: web.Request) -> web.Response:
    ctx = authorize(request, "get_floatingip")
    return fields_of(request, "floatingip", await shown(request, ctx, request.match_info["fip_id"]))


@ROUTES.put("/v2.0/floatingips/{fip_id}")
async def update_floating_ip(request: web.Request) -> web.Response:
    """Associate (`port_id`, optionally `fixed_ip_address`), disassociate (`port_id:
    null`) or describe."""
    ctx = authorize(request, "get_floatingip")
    fip = await visible_floating_ip(request, ctx, request.match_info["fip_id"])
    body = await read_changes(request, "floatingip", FloatingIpBody)
    authorize(request, "update_floatingip", {"project_id": fip.project_id})
    for name in ("floating_network_id", "floating_ip_address", "project_id", "tenant_id"):
        if given(getattr(body, name)):
            raise BadRequest(f"Cannot update read-only attribute {name}.")
    events: list[Event] = []
    if not isinstance(body.port_id, UnsetType):
        link = await association(
            request,
            ctx,
            fip.project_id,
            fip.floating_network_id,
            body.port_id,
            body.fixed_ip_address,
            fip.id,
        )
        events.append(link)
    if given(body.description):
        events.append(
            ev.FloatingIpUpdated(floating_ip_id=fip.id, description=str(body.description))
        )
    if events:
        stream = StreamAppend(f"floatingip-{fip.id}", events, fip.revision_number)
        await record_streams(request, [stream])
    return one("floatingip", await shown(request, ctx, fip.id))


@ROUTES.delete("/v2.0/floatingips/{fip_id}")
async def delete_floating_ip(request: web.Request) -> web.Response:
    ctx = authorize(request, "get_floatingip")
    fip = await visible_floating_ip(request, ctx, request.match_info["fip_id"])
    authorize(request, "delete_floatingip", {"project_id": fip.project_id})
    gone = ev.FloatingIpDeleted(floating_ip_id=fip.id, project_id=fip.project_id)
    await record_streams(
        request, [StreamAppend(f"floatingip-{fip.id}", [gone], fip.revision_number)]
    )
    return web.Response(status=204)
