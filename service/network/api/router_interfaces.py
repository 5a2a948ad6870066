"""/v2.0/routers/{id}/add_router_interface and remove_router_interface: a router's
interface on a subnet is a port (device_owner network:router_interface), made on the
subnet's gateway address (`subnet_id`) or given (`port_id`). The subnets of one router
may not overlap; each change also appends to the router's stream, so that racing
changes to one router take turns. Removing an interface deletes its port."""

import ipaddress
from typing import Any

import msgspec
from aiohttp import web
from msgspec import UNSET, UnsetType

from events.store import NO_STREAM, StreamAppend
from service.auth import AuthContext
from service.compute.directory import get
from service.errors import BadRequest, Conflict, NotFound
from service.http.body import json_response, read_json
from service.http.recording import record_streams, store
from service.network import events as ev
from service.network.api.common import given
from service.network.api.ports import (
    FixedIpRequest,
    PortBody,
    new_port,
    record_with_addresses,
    visible_port,
)
from service.network.api.routers import interface_subnets, interfaces, visible_router
from service.network.api.subnets import visible_subnet
from service.network.binding import deleted, floating_ips_of
from service.network.directory import ROUTER_INTERFACE, Network, Port, Router, Subnet
from service.network.policy_rules import authorize

ROUTES = web.RouteTableDef()


class InterfaceBody(msgspec.Struct, forbid_unknown_fields=True):
    subnet_id: str | UnsetType = UNSET
    port_id: str | UnsetType = UNSET


async def _body(request: web.Request, *, both: bool) -> InterfaceBody:
    """The interface named: a subnet, a port, or (if `both`) a port on a subnet."""
    body = await read_json(request, InterfaceBody)
    subnet, port = given(body.subnet_id), given(body.port_id)
    if not subnet and not port:
        raise BadRequest("Bad router request: Either subnet_id or port_id must be specified.")
    if subnet and port and not both:
        raise BadRequest("Bad router request: Cannot specify both subnet-id and port-id.")
    return body


def _answer(router: Router, port: Port) -> web.Response:
    """What adding or removing the interface answers."""
    subnet_ids = list(dict.fromkeys(ip.subnet_id for ip in port.fixed_ips))
    return json_response(
        {
            "id": router.id,
            "tenant_id": router.project_id,
            "project_id": router.project_id,
            "port_id": port.id,
            "network_id": port.network_id,
            "subnet_id": subnet_ids[0] if subnet_ids else None,
            "subnet_ids": subnet_ids,
        }
    )


def _check_subnet(subnet: Subnet, attached: list[Subnet]) -> None:
    """400 if the router has an interface on the subnet, or on one it overlaps."""
    cidr = ipaddress.ip_network(subnet.cidr)
    for other in attached:
        if other.id == subnet.id:
            raise BadRequest(
                f"Bad router request: Router already has a port on subnet {subnet.id}."
            )
        if ipaddress.ip_network(other.cidr).overlaps(cidr):
            raise BadRequest(
                f"Bad router request: Cidr {subnet.cidr} of subnet {subnet.id} overlaps with "
                f"cidr {other.cidr} of subnet {other.id}."
            )


async def _on_subnet(
    request: web.Request, ctx: AuthContext, router: Router, subnet_id: str
) -> tuple[StreamAppend, str, str]:
    """A new port of the router on the subnet's gateway address; 404 for a subnet of
    another project (unless shared, or the caller an admin), 400 for one without a
    gateway or clashing with the router's others, 409 if its gateway address is taken."""
    db = store(request).pool
    subnet = await visible_subnet(request, ctx, subnet_id)
    network = await get(db, Network, subnet.network_id)
    assert network is not None  # a subnet's network outlives it (foreign key)
    if not (ctx.is_admin or subnet.project_id == router.project_id or network.shared):
        raise NotFound(f"Subnet {subnet_id} could not be found.")
    if subnet.gateway_ip is None:
        raise BadRequest(f"Bad router request: Subnet {subnet.id} does not have a gateway IP.")
    _check_subnet(subnet, await interface_subnets(db, router.id))
    wanted = FixedIpRequest(subnet_id=subnet.id, ip_address=subnet.gateway_ip)
    body = PortBody(device_owner=ROUTER_INTERFACE, device_id=router.id, fixed_ips=[wanted])
    port = await new_port(request, network, router.project_id, body)
    return StreamAppend(f"port-{port.port_id}", [port], NO_STREAM), port.port_id, subnet.id


async def _with_port(
    request: web.Request, ctx: AuthContext, router: Router, port_id: str
) -> tuple[StreamAppend, str, str]:
    """The port, given to the router; 404 for another project's, 409 for one in use, 400
    for one without addresses, on several subnets, or clashing with the router's others."""
    db = store(request).pool
    port = await visible_port(request, ctx, port_id)
    if not (ctx.is_admin or port.project_id == router.project_id):
        raise NotFound(f"Port {port_id} could not be found.")
    if port.device_id or port.device_owner:
        raise Conflict(
            f"Unable to complete operation on port {port.id} for network {port.network_id}. "
            f"Port already has an attached device {port.device_id or port.device_owner}."
        )
    subnet_ids = {ip.subnet_id for ip in port.fixed_ips}
    if not subnet_ids:
        raise BadRequest("Bad router request: Router port must have at least one fixed IP.")
    if len(subnet_ids) > 1:
        raise BadRequest("Bad router request: Cannot have multiple IPv4 subnets on router port.")
    subnet = await get(db, Subnet, subnet_ids.pop())
    assert subnet is not None  # a subnet with addresses in use stays (foreign key)
    _check_subnet(subnet, await interface_subnets(db, router.id))
    given_to = ev.PortUpdated(port_id=port.id, device_id=router.id, device_owner=ROUTER_INTERFACE)
    return StreamAppend(f"port-{port.id}", [given_to], port.revision_number), port.id, subnet.id


async def _check_unrouted(db: Any, router: Router, subnet_id: str) -> None:
    """409 if one of the router's extra routes goes through the subnet."""
    subnet = await get(db, Subnet, subnet_id)
    cidr = ipaddress.ip_network(subnet.cidr) if subnet is not None else None
    if cidr is not None and any(ipaddress.ip_address(r.nexthop) in cidr for r in router.routes):
        raise Conflict(
            f"Router interface for subnet {subnet_id} on router {router.id} cannot be deleted, "
            "as it is required by one or more routes."
        )


@ROUTES.put("/v2.0/routers/{router_id}/add_router_interface")
async def add_router_interface(request: web.Request) -> web.Response:
    ctx = authorize(request, "get_router")
    router_id = request.match_info["router_id"]
    await visible_router(request, ctx, router_id)
    body = await _body(request, both=False)
    added: list[str] = []

    async def plan() -> list[StreamAppend]:
        router = await visible_router(request, ctx, router_id)
        authorize(request, "add_router_interface", {"project_id": router.project_id})
        if given(body.subnet_id):
            port, port_id, subnet_id = await _on_subnet(request, ctx, router, str(body.subnet_id))
        else:
            port, port_id, subnet_id = await _with_port(request, ctx, router, str(body.port_id))
        added[:] = [port_id]
        event = ev.RouterInterfaceAdded(router_id=router.id, port_id=port_id, subnet_id=subnet_id)
        return [port, StreamAppend(f"router-{router.id}", [event], router.revision_number)]

    await record_with_addresses(request, plan)
    port = await get(store(request).pool, Port, added[0])
    assert port is not None
    return _answer(await visible_router(request, ctx, router_id), port)


@ROUTES.put("/v2.0/routers/{router_id}/remove_router_interface")
async def remove_router_interface(request: web.Request) -> web.Response:
    """The interface's port deleted; 404 if the router has no such interface."""
    ctx = authorize(request, "get_router")
    router = await visible_router(request, ctx, request.match_info["router_id"])
    body = await _body(request, both=True)
    authorize(request, "remove_router_interface", {"project_id": router.project_id})
    db = store(request).pool
    found = await interfaces(db, router.id)
    if given(body.port_id):
        found = [p for p in found if p.id == body.port_id]
        if not found:
            raise NotFound(f"Router {router.id} does not have an interface with id {body.port_id}")
    if given(body.subnet_id):
        found = [p for p in found if any(ip.subnet_id == body.subnet_id for ip in p.fixed_ips)]
        if not found:
            raise NotFound(f"Router {router.id} has no interface on subnet {body.subnet_id}")
    port = found[0]
    subnet_id = port.fixed_ips[0].subnet_id if port.fixed_ips else ""
    await _check_unrouted(db, router, subnet_id)
    removed = ev.RouterInterfaceRemoved(router_id=router.id, port_id=port.id, subnet_id=subnet_id)
    appends = [StreamAppend(f"router-{router.id}", [removed], router.revision_number)]
    await record_streams(request, appends + deleted(port, await floating_ips_of(db, [port.id])))
    return _answer(router, port)
