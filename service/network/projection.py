"""The network read models (rm_* of migrations/0009_network.sql and 0027_network_routers.sql),
kept inline: networks, subnets, ports, floating IPs, routers (their rows as
service/network/fold.py folds them), the addresses they hold (IPAM) and quota usage.

Every row's `revision_number` is its stream version, so a handler that read a row can
append with that version expected and lose cleanly to a concurrent change. Appends
that break the model's rules fail as the API errors they are: an address already taken
(AddressInUse), a subnet or network still in use, a quota passed, a floating IP's router
that no longer joins its networks (service/network/reachability.py).
"""

from collections.abc import Collection
from typing import Any

import asyncpg
import msgspec

from events.types import Event, RecordedEvent
from projections.bulk import FoldedTable
from projections.projection import Projection
from projections.rows import Row, encoded, project_row, update_row, write_row
from service.errors import BadRequest, Conflict
from service.network import events as ev
from service.network import fold, quota, reachability, rebuild


class AddressInUse(Conflict):
    """An address an append took is already taken (another append won it)."""

    def __init__(self, ip_address: str, network_id: str) -> None:
        super().__init__(
            f"Unable to complete operation for network {network_id}. The IP address "
            f"{ip_address} is in use."
        )


class MacInUse(Conflict):
    """A MAC address an append gave a port is already another's on its network."""


class InUse(Conflict):
    """A subnet or network that something still uses cannot go."""


class NetworkProjection:
    """Networks, subnets, ports, floating IPs, routers, address allocations, quota usage."""

    name: str = "network"
    tables: tuple[str, ...] = (
        "rm_networks",
        "rm_subnets",
        "rm_ports",
        "rm_floating_ips",
        "rm_ip_allocations",
        "rm_routers",
        "rm_network_usage",
    )
    types: frozenset[str] | None = frozenset(
        cls.type_name()
        for cls in vars(ev).values()
        if isinstance(cls, type) and issubclass(cls, Event) and cls is not Event
    )
    folds: tuple[FoldedTable, ...] = rebuild.FOLDS
    side: Projection | None = rebuild.USAGE
    reads_bodies: bool = True

    async def apply(self, conn: Any, recorded: RecordedEvent) -> None:
        try:
            await _apply(conn, recorded)
        except asyncpg.ForeignKeyViolationError:
            raise InUse(_IN_USE.get(type(recorded.event), "The resource is in use.")) from None
        except asyncpg.UniqueViolationError as error:
            if error.constraint_name == "rm_ip_allocations_pkey" and isinstance(
                recorded.event, ev.PortCreated
            ):
                taken = ", ".join(ip.ip_address for ip in recorded.event.fixed_ips)
                raise AddressInUse(taken, recorded.event.network_id) from None
            if error.constraint_name != "rm_ports_mac_key":
                raise
            raise MacInUse("The MAC address of the port is in use on its network.") from None


_IN_USE: dict[type, str] = {
    ev.SubnetDeleted: "Unable to complete operation on subnet: one or more ports have an IP "
    "allocation from this subnet.",
    ev.NetworkDeleted: "Unable to complete operation on network: there are one or more ports "
    "still in use on the network.",
    ev.PortCreated: "The network or subnet of the port was deleted.",
    ev.PortUpdated: "A subnet of the port was deleted.",
    ev.SubnetCreated: "The network of the subnet was deleted.",
    ev.FloatingIpCreated: "The external network was deleted.",
    ev.FloatingIpAssociated: "The port was deleted.",
    ev.RouterGatewaySet: "The external network or the gateway port was deleted.",
}


_PORT_COLUMNS = tuple(
    "id network_id project_id name description mac_address admin_state_up device_id"
    " device_owner fixed_ips security_groups port_security_enabled binding_host_id"
    " auto_delete created_at updated_at revision_number".split()
)
# A port is created in one statement, its most frequent write: its row, the addresses it
# takes (the primary key refuses one already taken: AddressInUse), and the project's port
# usage (last, so that the usage row is locked only from here to the commit).
_PORT_CREATED = (
    f"WITH port AS (INSERT INTO rm_ports ({', '.join(_PORT_COLUMNS)}) VALUES ($1, $2, $3, $4,"
    " $5, $6, $7, $8, $9, $10::jsonb, $11, $12, $13, $14, $15, $16, $17) RETURNING id),"
    " taken AS (INSERT INTO rm_ip_allocations (subnet_id, ip_address, port_id)"
    " SELECT a.subnet_id, a.ip_address, port.id FROM port,"
    " jsonb_to_recordset($10::jsonb) AS a(subnet_id text, ip_address inet)) "
    + quota.adding("$3", "'port'", "1")
)


async def _insert(conn: Any, table: str, row: Row, json_columns: Collection[str] = ()) -> None:
    await write_row(conn, table, {"id": row["id"]}, None, row, json_columns=json_columns)


async def _update(
    conn: Any, table: str, recorded: RecordedEvent, json_columns: Collection[str] = ()
) -> None:
    key = ("id", fold.resource_id(recorded.event))
    await update_row(conn, table, key, fold.changes(recorded), json_columns=json_columns)


async def _apply(conn: Any, recorded: RecordedEvent) -> None:
    match recorded.event:
        case ev.NetworkCreated() as e:
            await _insert(conn, "rm_networks", fold.created(recorded))
            await quota.add(conn, e.project_id, "network", 1)
        case ev.NetworkUpdated():
            await _update(conn, "rm_networks", recorded)
        case ev.NetworkDeleted(network_id=network_id, project_id=project_id):
            await conn.execute("DELETE FROM rm_networks WHERE id = $1", network_id)
            await quota.add(conn, project_id, "network", -1)
        case ev.SubnetCreated() as e:
            await _check_overlap(conn, e.network_id, e.cidr)
            await _insert(conn, "rm_subnets", fold.created(recorded), fold.SUBNET_JSON)
            await quota.add(conn, e.project_id, "subnet", 1)
        case ev.SubnetUpdated():
            await _update(conn, "rm_subnets", recorded, fold.SUBNET_JSON)
        case ev.SubnetDeleted(subnet_id=subnet_id, project_id=project_id):
            await conn.execute("DELETE FROM rm_subnets WHERE id = $1", subnet_id)
            await quota.add(conn, project_id, "subnet", -1)
        case ev.PortCreated():
            row = fold.created(recorded)
            values = [encoded(row[c], c in fold.PORT_JSON) for c in _PORT_COLUMNS]
            usage = await conn.fetchrow(_PORT_CREATED, *values)
            if row["project_id"]:  # a router's gateway port belongs to no project
                quota.refuse_excess(usage, "port", 1)
        case ev.PortUpdated() as e:
            await _update(conn, "rm_ports", recorded, fold.PORT_JSON)
            if not isinstance(e.fixed_ips, msgspec.UnsetType):
                await conn.execute("DELETE FROM rm_ip_allocations WHERE port_id = $1", e.port_id)
                network_id = await conn.fetchval(
                    "SELECT network_id FROM rm_ports WHERE id = $1", e.port_id
                )
                await _allocate(conn, network_id, e.port_id, e.fixed_ips)
        case ev.PortDeleted(port_id=port_id, project_id=project_id):
            await conn.execute("DELETE FROM rm_ip_allocations WHERE port_id = $1", port_id)
            await conn.execute("DELETE FROM rm_ports WHERE id = $1", port_id)
            await quota.add(conn, project_id, "port", -1)
        case ev.FloatingIpCreated() as e:
            await _insert(conn, "rm_floating_ips", fold.created(recorded))
            address = ev.FixedIp(e.subnet_id, e.floating_ip_address)
            await _allocate(
                conn, e.floating_network_id, e.floating_ip_id, [address], "floating_ip_id"
            )
            await quota.add(conn, e.project_id, "floatingip", 1)
            await reachability.hold_router(conn, e.floating_ip_id)
        case ev.FloatingIpAssociated(floating_ip_id=fip_id):
            await _update(conn, "rm_floating_ips", recorded)
            await reachability.hold_router(conn, fip_id)
        case ev.FloatingIpUpdated():
            await _update(conn, "rm_floating_ips", recorded)
        case ev.FloatingIpDeleted(floating_ip_id=fip_id, project_id=project_id):
            await conn.execute("DELETE FROM rm_ip_allocations WHERE floating_ip_id = $1", fip_id)
            await conn.execute("DELETE FROM rm_floating_ips WHERE id = $1", fip_id)
            await quota.add(conn, project_id, "floatingip", -1)
        case ev.RouterCreated(project_id=project_id):
            await _router(conn, recorded)
            await quota.add(conn, project_id, "router", 1)
        case ev.RouterDeleted(project_id=project_id):
            await _router(conn, recorded)
            await quota.add(conn, project_id, "router", -1)
        case ev.RouterGatewaySet(router_id=router_id):
            await _router(conn, recorded)
            await reachability.check_gateway_unused(conn, router_id)
        case ev.RouterInterfaceRemoved(router_id=router_id, subnet_id=subnet_id):
            await _router(conn, recorded)
            await reachability.check_interface_unused(conn, router_id, subnet_id)
        case ev.RouterUpdated() | ev.RouterInterfaceAdded():
            await _router(conn, recorded)


async def _router(conn: Any, recorded: RecordedEvent) -> None:
    key = {"id": recorded.stream_id.removeprefix("router-")}
    await project_row(conn, "rm_routers", key, fold.router, recorded, json_columns=fold.ROUTER_JSON)


def overlap_message(cidr: str, network_id: str) -> str:
    return (
        f"Invalid input for operation: Requested subnet with cidr: {cidr} for network: "
        f"{network_id} overlaps with another subnet."
    )


async def _check_overlap(conn: Any, network_id: str, cidr: str) -> None:
    """BadRequest if `cidr` overlaps a subnet of the network. The network's row stays
    locked until commit, so subnets added to one network concurrently take turns."""
    await conn.execute("SELECT 1 FROM rm_networks WHERE id = $1 FOR UPDATE", network_id)
    clash = await conn.fetchval(
        "SELECT 1 FROM rm_subnets WHERE network_id = $1 AND cidr::cidr && $2::cidr",
        network_id,
        cidr,
    )
    if clash:
        raise BadRequest(overlap_message(cidr, network_id))


async def _allocate(
    conn: Any, network_id: str, holder: str, addresses: Any, column: str = "port_id"
) -> None:
    """Take the addresses for a port (or floating IP); AddressInUse if one is taken."""
    for address in addresses:
        try:
            await conn.execute(
                f"INSERT INTO rm_ip_allocations (subnet_id, ip_address, {column})"
                " VALUES ($1, $2::inet, $3)",
                address.subnet_id,
                address.ip_address,
                holder,
            )
        except asyncpg.UniqueViolationError:
            raise AddressInUse(address.ip_address, network_id) from None
