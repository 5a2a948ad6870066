"""Neutron's L3 rule for floating IPs: a floating IP reaches a fixed address through a
router whose external gateway is on the floating IP's network and which has an interface
on the fixed address's subnet. Associating needs such a router (404 otherwise), and the
floating IP records it (`router_id`).
"""

from typing import Any

from service.errors import NotFound
from service.network.directory import ROUTER_INTERFACE


class ExternalGatewayForFloatingIPNotFound(NotFound):
    """No router joins the fixed address's subnet to the floating IP's network."""

    neutron_type = "ExternalGatewayForFloatingIPNotFound"

    def __init__(self, network_id: str, subnet_id: str, port_id: str) -> None:
        super().__init__(
            f"External network {network_id} is not reachable from subnet {subnet_id}.  "
            f"Therefore, cannot associate Port {port_id} with a Floating IP."
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
