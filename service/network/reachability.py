"""Neutron's L3 rule for floating IPs: a floating IP reaches a fixed address through a
router whose external gateway is on the floating IP's network and which has an interface
on the fixed address's subnet. Associating needs such a router (404 otherwise); the
floating IP records it (`router_id`), and while it does, that router keeps its interface
on the subnet and its gateway on the network (409). The host realises the floating IP's
NAT while its router is up (service/network/host.py).

The API chooses the router; the network projection checks the rule again inside each
append that could break it, under a lock on the router's row, so that an association
racing the removal of the router's interface or gateway cannot leave a floating IP on a
router that no longer joins its networks.
"""

from typing import Any

from service.errors import Conflict, NotFound
from service.network.directory import ROUTER_INTERFACE


class ExternalGatewayForFloatingIPNotFound(NotFound):
    """No router joins the fixed address's subnet to the floating IP's network."""

    neutron_type = "ExternalGatewayForFloatingIPNotFound"

    def __init__(self, network_id: str, subnet_id: str, port_id: str) -> None:
        super().__init__(
            f"External network {network_id} is not reachable from subnet {subnet_id}.  "
            f"Therefore, cannot associate Port {port_id} with a Floating IP."
        )


class RouterInterfaceInUseByFloatingIP(Conflict):
    """A floating IP reaches its subnet through the router's interface."""

    neutron_type = "RouterInterfaceInUseByFloatingIP"

    def __init__(self, router_id: str, subnet_id: str) -> None:
        super().__init__(
            f"Router interface for subnet {subnet_id} on router {router_id} cannot be "
            "deleted, as it is required by one or more floating IPs."
        )


class RouterExternalGatewayInUseByFloatingIp(Conflict):
    """Floating IPs of the gateway's network go through the router."""

    neutron_type = "RouterExternalGatewayInUseByFloatingIp"

    def __init__(self, router_id: str, network_id: str) -> None:
        super().__init__(
            f"Gateway cannot be updated for router {router_id}, since a gateway to external "
            f"network {network_id} is required by one or more floating IPs."
        )


# Routers with their gateway on $3 and an interface on the subnet $2; as Neutron, the one
# whose interface holds the subnet's gateway address first, else the oldest.
_ROUTERS = (
    "SELECT r.id FROM rm_routers r, rm_ports i, jsonb_array_elements(i.fixed_ips) AS inside,"
    " rm_subnets s"
    " WHERE i.device_id = r.id AND i.device_owner = $1 AND inside->>'subnet_id' = $2"
    " AND s.id = $2 AND r.gateway_network_id = $3"
    " ORDER BY inside->>'ip_address' = s.gateway_ip DESC NULLS LAST, r.created_at, r.id"
    " LIMIT 1"
)


async def router_for(db: Any, network_id: str, subnet_id: str, port_id: str) -> str:
    """The router a floating IP of `network_id` reaches the port's address on `subnet_id`
    through; ExternalGatewayForFloatingIPNotFound if there is none."""
    router_id: str | None = await db.fetchval(_ROUTERS, ROUTER_INTERFACE, subnet_id, network_id)
    if router_id is None:
        raise ExternalGatewayForFloatingIPNotFound(network_id, subnet_id, port_id)
    return router_id


# Whether the router of floating IP $1 has its gateway on the floating IP's network and an
# interface on the subnet of its fixed address.
_JOINS = (
    "SELECT 1 FROM rm_floating_ips f JOIN rm_routers r ON r.id = f.router_id"
    " AND r.gateway_network_id = f.floating_network_id"
    " JOIN rm_ip_allocations a ON a.port_id = f.port_id AND a.ip_address = f.fixed_ip_address::inet"
    " JOIN rm_ports i ON i.device_id = r.id AND i.device_owner = $2,"
    " jsonb_array_elements(i.fixed_ips) AS inside"
    " WHERE f.id = $1 AND inside->>'subnet_id' = a.subnet_id"
)


async def hold_router(conn: Any, floating_ip_id: str) -> None:
    """Inside an append associating the floating IP (its row written): lock its router's
    row (shared) until commit, then Conflict unless the router still joins its fixed
    address to its network. The lock makes a racing removal of the router's interface or
    gateway wait for this append, and then see the floating IP."""
    router_id = await conn.fetchval(
        "SELECT router_id FROM rm_floating_ips WHERE id = $1", floating_ip_id
    )
    if router_id is None:
        return  # disassociated (or associated before Kumo required a router)
    await conn.execute("SELECT 1 FROM rm_routers WHERE id = $1 FOR SHARE", router_id)
    if not await conn.fetchval(_JOINS, floating_ip_id, ROUTER_INTERFACE):
        raise Conflict(
            f"Router {router_id} changed while a floating IP was being associated through "
            "it; retry the request."
        )


async def check_interface_unused(conn: Any, router_id: str, subnet_id: str) -> None:
    """Inside an append removing the router's interface on the subnet, once the router's
    row is written (so locked): RouterInterfaceInUseByFloatingIP if a floating IP reaches
    an address of the subnet through the router."""
    used = await conn.fetchval(
        "SELECT 1 FROM rm_floating_ips f JOIN rm_ip_allocations a ON a.port_id = f.port_id"
        " AND a.ip_address = f.fixed_ip_address::inet"
        " WHERE f.router_id = $1 AND a.subnet_id = $2 LIMIT 1",
        router_id,
        subnet_id,
    )
    if used:
        raise RouterInterfaceInUseByFloatingIP(router_id, subnet_id)


async def check_gateway_unused(conn: Any, router_id: str) -> None:
    """Inside an append setting the router's gateway, once the router's row is written (so
    locked): RouterExternalGatewayInUseByFloatingIp if a floating IP through the router is
    on another network than its gateway now."""
    network_id = await conn.fetchval(
        "SELECT f.floating_network_id FROM rm_floating_ips f JOIN rm_routers r"
        " ON r.id = f.router_id WHERE r.id = $1"
        " AND r.gateway_network_id IS DISTINCT FROM f.floating_network_id LIMIT 1",
        router_id,
    )
    if network_id is not None:
        raise RouterExternalGatewayInUseByFloatingIp(router_id, network_id)
