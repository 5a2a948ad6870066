"""/v2.0/routers: Neutron's L3 routers (create, list, show, update, delete), their external
gateway (`external_gateway_info`: a port of the router on a `router:external` network,
source NAT on by default) and extra `routes`. Their interfaces are
service/network/api/router_interfaces.py. A project sees its own routers (an admin all);
`distributed` and `ha` are false, as one Kumo host routes for a router."""

import ipaddress
from typing import Annotated, Any

import msgspec
from aiohttp import web
from msgspec import UNSET, Meta, UnsetType

from events.store import NO_STREAM, StreamAppend
from events.types import Event
from projections.rows import set_fields
from service.auth import AuthContext
from service.compute.directory import get, select
from service.errors import BadRequest, Conflict, NotFound
from service.http.recording import new_uuid, record_streams, store
from service.network import events as ev
from service.network import quota
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
from service.network.api.ports import (
    FixedIpRequest,
    PortBody,
    addresses,
    new_port,
    record_with_addresses,
)
from service.network.binding import deleted
from service.network.directory import (
    ROUTER_GATEWAY,
    ROUTER_INTERFACE,
    Network,
    Port,
    Router,
    Subnet,
)
from service.network.policy_rules import authorize

ROUTES = web.RouteTableDef()
Text = Annotated[str, Meta(max_length=255)]


class GatewayInfo(msgspec.Struct, forbid_unknown_fields=True):
    """A router's gateway as asked for; without a network_id (`{}`), none."""

    network_id: str | UnsetType = UNSET
    enable_snat: bool | UnsetType = UNSET
    external_fixed_ips: list[FixedIpRequest] | UnsetType = UNSET


class RouterBody(msgspec.Struct, forbid_unknown_fields=True):
    name: Text | UnsetType = UNSET
    description: Text | UnsetType = UNSET
    admin_state_up: bool | UnsetType = UNSET
    external_gateway_info: GatewayInfo | None | UnsetType = UNSET
    routes: list[ev.Route] | None | UnsetType = UNSET
    distributed: bool | UnsetType = UNSET
    ha: bool | UnsetType = UNSET
    project_id: str | UnsetType = UNSET
    tenant_id: str | UnsetType = UNSET
    availability_zone_hints: list[str] | UnsetType = UNSET


def view(router: Router, gateway: Port | None) -> Json:
    info = None
    if router.gateway_network_id is not None:
        info = {
            "network_id": router.gateway_network_id,
            "enable_snat": router.enable_snat,
            "external_fixed_ips": [
                msgspec.to_builtins(ip) for ip in (gateway.fixed_ips if gateway else [])
            ],
        }
    return {
        "id": router.id,
        "name": router.name,
        "description": router.description,
        "admin_state_up": router.admin_state_up,
        "status": "ACTIVE",
        "external_gateway_info": info,
        "routes": [msgspec.to_builtins(r) for r in router.routes],
        "distributed": False,
        "ha": False,
        "availability_zone_hints": [],
        "availability_zones": ["nova"],
        "flavor_id": None,
    } | standard(router.project_id, router.created_at, router.updated_at, router.revision_number)


async def views(request: web.Request, routers: list[Router]) -> list[Json]:
    """The routers as Neutron shows them, with their gateway ports' addresses."""
    ids = [r.gateway_port_id for r in routers if r.gateway_port_id is not None]
    ports = {p.id: p for p in await select(store(request).pool, Port, "id = ANY($1)", ids)}
    return [view(r, ports.get(r.gateway_port_id or "")) for r in routers]


async def visible_router(request: web.Request, ctx: AuthContext, router_id: str) -> Router:
    """The router if the caller may see it (its project's, or any for an admin); 404."""
    router = await get(store(request).pool, Router, router_id)
    if router is None or not (ctx.is_admin or router.project_id == ctx.project_id):
        raise NotFound(f"Router {router_id} could not be found")
    return router


async def shown(request: web.Request, ctx: AuthContext, router_id: str) -> Json:
    return (await views(request, [await visible_router(request, ctx, router_id)]))[0]


def _check_admin_attributes(request: web.Request, action: str, body: RouterBody) -> None:
    """403 for what only an admin may ask; 400 for what Kumo's routers are not."""
    for name in ("distributed", "ha"):
        if given(getattr(body, name)):
            authorize(request, f"{action}:{name}")
            if getattr(body, name):
                raise BadRequest(f"Kumo's routers are not {name}.")
    info = body.external_gateway_info
    if isinstance(info, GatewayInfo):
        for name in ("enable_snat", "external_fixed_ips"):
            if given(getattr(info, name)):
                authorize(request, f"{action}:external_gateway_info:{name}")


async def interfaces(db: Any, router_id: str) -> list[Port]:
    """The router's interfaces' ports."""
    return await select(
        db, Port, "device_id = $1 AND device_owner = $2", router_id, ROUTER_INTERFACE
    )


async def interface_subnets(db: Any, router_id: str) -> list[Subnet]:
    """The subnets the router has an interface on."""
    where = (
        "id IN (SELECT ip->>'subnet_id' FROM rm_ports, jsonb_array_elements(fixed_ips) AS ip"
        " WHERE device_id = $1 AND device_owner = $2)"
    )
    return await select(db, Subnet, where, router_id, ROUTER_INTERFACE)


async def _routes(
    request: web.Request, router_id: str, routes: list[ev.Route] | None | UnsetType
) -> tuple[ev.Route, ...] | UnsetType:
    """The extra routes asked for, each to a valid CIDR through an address on one of the
    router's subnets (400 otherwise); None clears them."""
    if isinstance(routes, UnsetType):
        return UNSET
    subnets = await interface_subnets(store(request).pool, router_id)
    connected = [ipaddress.ip_network(s.cidr) for s in subnets]
    for route in routes or ():
        try:
            ipaddress.ip_network(route.destination)
            nexthop = ipaddress.ip_address(route.nexthop)
        except ValueError:
            raise BadRequest(f"Invalid format for routes: {msgspec.to_builtins(route)}.") from None
        if not any(nexthop in net for net in connected):
            raise BadRequest(
                f"Invalid format for routes: {msgspec.to_builtins(route)}, the nexthop is not "
                "connected with router."
            )
    if len({(r.destination, r.nexthop) for r in routes or ()}) != len(routes or ()):
        raise BadRequest("Invalid format for routes: duplicate routes.")
    return tuple(routes or ())


async def gateway(
    request: web.Request,
    ctx: AuthContext,
    router_id: str,
    old: Port | None,
    info: GatewayInfo | None,
) -> tuple[list[StreamAppend], list[StreamAppend], list[Event]]:
    """What setting the router's gateway (now the port `old`, if any) to `info` appends:
    the new gateway port (before the router's event, which names it), the router's event,
    the old port's deletion (after it). 404 for a network the caller does not see, 400
    for one that is not external or has no IPv4 subnet."""
    gone = deleted(old, []) if old is not None else []
    if info is None or not given(info.network_id):
        if old is None:
            return [], [], []
        return [], gone, [ev.RouterGatewaySet(router_id=router_id, network_id=None)]
    network = await visible_network(request, ctx, str(info.network_id))
    if not network.external:
        raise BadRequest(f"Bad router request: Network {network.id} is not an external network.")
    snat = or_default(info.enable_snat, True)
    if old is not None and network.id == old.network_id:
        kept = ev.RouterGatewaySet(
            router_id=router_id, network_id=network.id, port_id=old.id, enable_snat=snat
        )
        return await _readdressed(request, network, old, info), [], [kept]
    body = PortBody(
        device_owner=ROUTER_GATEWAY,
        device_id=router_id,
        fixed_ips=info.external_fixed_ips,
        port_security_enabled=False,
    )
    port = await new_port(request, network, "", body)
    if not port.fixed_ips:
        raise BadRequest(f"Bad router request: No IPv4 subnet on network {network.id}.")
    event = ev.RouterGatewaySet(
        router_id=router_id, network_id=network.id, port_id=port.port_id, enable_snat=snat
    )
    return [StreamAppend(f"port-{port.port_id}", [port], NO_STREAM)], gone, [event]


async def _readdressed(
    request: web.Request, network: Network, port: Port, info: GatewayInfo
) -> list[StreamAppend]:
    """The gateway port given the addresses `info` asks for, as Neutron updates it in
    place (its own addresses count as free), or nothing when none are asked for."""
    if isinstance(info.external_fixed_ips, UnsetType):
        return []
    fixed = await addresses(
        store(request).pool, network, info.external_fixed_ips, held=port.fixed_ips
    )
    moved = ev.PortUpdated(port_id=port.id, fixed_ips=fixed)
    return [StreamAppend(f"port-{port.id}", [moved], port.revision_number)]


async def _gateway_port(request: web.Request, router: Router) -> Port | None:
    if router.gateway_port_id is None:
        return None
    return await get(store(request).pool, Port, router.gateway_port_id)


@ROUTES.post("/v2.0/routers")
async def create_router(request: web.Request) -> web.Response:
    body = await read_changes(request, "router", RouterBody)
    ctx = authorize(request, "create_router")
    project_id = owner_of(ctx, body.project_id, body.tenant_id)
    authorize(request, "create_router", {"project_id": project_id})
    _check_admin_attributes(request, "create_router", body)
    if given(body.routes) and body.routes:
        raise BadRequest("Invalid input: a new router has no interfaces for routes to use.")
    await quota.check(store(request).pool, project_id, "router")
    router_id = new_uuid(request)
    made = ev.RouterCreated(
        router_id=router_id,
        project_id=project_id,
        name=or_default(body.name, ""),
        description=or_default(body.description, ""),
        admin_state_up=or_default(body.admin_state_up, True),
    )
    info = or_default(body.external_gateway_info, None)

    async def plan() -> list[StreamAppend]:
        ports, _, events = await gateway(request, ctx, router_id, None, info)
        return [*ports, StreamAppend(f"router-{router_id}", [made, *events], NO_STREAM)]

    await record_with_addresses(request, plan)
    return one("router", await shown(request, ctx, router_id), status=201)


@ROUTES.get("/v2.0/routers")
async def list_routers(request: web.Request) -> web.Response:
    ctx = authorize(request, "get_router")
    routers = await listable(request, ctx, Router)
    return listing(request, "routers", await views(request, routers))


@ROUTES.get("/v2.0/routers/{router_id}")
async def show_router(request: web.Request) -> web.Response:
    ctx = authorize(request, "get_router")
    return fields_of(request, "router", await shown(request, ctx, request.match_info["router_id"]))


@ROUTES.put("/v2.0/routers/{router_id}")
async def update_router(request: web.Request) -> web.Response:
    """Rename, describe, admin state, extra routes, and the gateway (set, changed, or
    cleared with `external_gateway_info: {}` or null)."""
    ctx = authorize(request, "get_router")
    router_id = request.match_info["router_id"]
    await visible_router(request, ctx, router_id)
    changes = await read_changes(request, "router", RouterBody)

    async def plan() -> list[StreamAppend]:
        router = await visible_router(request, ctx, router_id)
        authorize(request, "update_router", {"project_id": router.project_id})
        _check_admin_attributes(request, "update_router", changes)
        if given(changes.project_id) or given(changes.tenant_id):
            raise BadRequest("Cannot update read-only attribute project_id.")
        events: list[Event] = []
        updated = ev.RouterUpdated(
            router_id=router.id,
            name=changes.name,
            description=changes.description,
            admin_state_up=changes.admin_state_up,
            routes=await _routes(request, router.id, changes.routes),
        )
        if set_fields(updated, exclude={"router_id"}):
            events.append(updated)
        made: list[StreamAppend] = []
        gone: list[StreamAppend] = []
        if not isinstance(changes.external_gateway_info, UnsetType):
            old = await _gateway_port(request, router)
            made, gone, set_ = await gateway(
                request, ctx, router.id, old, changes.external_gateway_info
            )
            events += set_
        if not events:
            return []
        own = StreamAppend(f"router-{router.id}", events, router.revision_number)
        return [*made, own, *gone]

    await record_with_addresses(request, plan)
    return one("router", await shown(request, ctx, router_id))


@ROUTES.delete("/v2.0/routers/{router_id}")
async def delete_router(request: web.Request) -> web.Response:
    """204, its gateway port gone with it; a router with interfaces is a 409."""
    ctx = authorize(request, "get_router")
    router = await visible_router(request, ctx, request.match_info["router_id"])
    authorize(request, "delete_router", {"project_id": router.project_id})
    db = store(request).pool
    if await interfaces(db, router.id):
        raise Conflict(f"Router {router.id} still has ports")
    appends = [
        StreamAppend(
            f"router-{router.id}",
            [ev.RouterDeleted(router_id=router.id, project_id=router.project_id)],
            router.revision_number,
        )
    ]
    port = await _gateway_port(request, router)
    appends += deleted(port, []) if port is not None else []
    await record_streams(request, appends)
    return web.Response(status=204)
