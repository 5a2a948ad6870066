"""What the routers of a cloud open on one of its hosts (service/network/routing.py), read
from the read models: the bridges of the networks the host's servers use (those it
realises), and for each router that is up, the bridges of its interfaces' networks and,
with a gateway, its way out (the gateway port's address as the source NAT of its
interfaces' subnets if `enable_snat`)."""

from typing import Any

from service.compute.directory import select
from service.network.directory import ROUTER_INTERFACE, Port, Router, Subnet
from service.network.interfaces import bridge
from service.network.routing import HostRoutes, RouterPath


def router_path(
    router: Router, interfaces: list[Port], subnets: dict[str, Subnet], out: str | None
) -> RouterPath:
    """The path of one router given its interfaces, their subnets and its gateway's
    address (None: no gateway)."""
    cidrs = sorted(
        {
            subnets[ip.subnet_id].cidr
            for p in interfaces
            for ip in p.fixed_ips
            if ip.subnet_id in subnets
        }
    )
    return RouterPath(
        router_id=router.id,
        bridges=tuple(sorted({bridge(p.network_id) for p in interfaces})),
        outward=out is not None,
        snat=tuple((cidr, out) for cidr in cidrs) if out is not None and router.enable_snat else (),
    )


# The networks a host realises: those its servers (not deleted) have ports on.
USED_HERE = (
    "SELECT DISTINCT p.network_id FROM rm_ports p JOIN rm_servers s ON s.id = p.device_id"
    " WHERE s.host = $1 AND NOT s.deleted"
)


async def host_routes(db: Any, host: str) -> HostRoutes:
    """What `host` should route, in five queries."""
    networks = await db.fetch(f"{USED_HERE} ORDER BY 1", host)
    routers = await select(db, Router, "admin_state_up")
    ids = [r.id for r in routers]
    where = "device_owner = $1 AND device_id = ANY($2::text[])"
    ports = await select(db, Port, where, ROUTER_INTERFACE, ids)
    wanted = sorted({ip.subnet_id for p in ports for ip in p.fixed_ips})
    subnets = {s.id: s for s in await select(db, Subnet, "id = ANY($1::text[])", wanted)}
    gateway_ids = [r.gateway_port_id for r in routers if r.gateway_port_id is not None]
    gateways = {p.id: p for p in await select(db, Port, "id = ANY($1::text[])", gateway_ids)}
    paths = []
    for router in routers:
        gateway = gateways.get(router.gateway_port_id or "")
        out = gateway.fixed_ips[0].ip_address if gateway is not None and gateway.fixed_ips else None
        interfaces = [p for p in ports if p.device_id == router.id]
        if interfaces:
            paths.append(router_path(router, interfaces, subnets, out))
    return HostRoutes(
        bridges=tuple(bridge(r["network_id"]) for r in networks),
        routers=tuple(sorted(paths, key=lambda p: p.router_id)),
    )
