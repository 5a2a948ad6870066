"""Nova's side of networking: the ports a new server gets (its project's default network
when it names none, none for `networks: none`, else the networks, ports and fixed
addresses it names), the addresses server views show, releasing a server's ports, and
the server actions that go through the network service (floating IPs, security groups).

A server's ports are created before the server itself is appended (Nova allocates the
network first as well); if the server's append fails, they are deleted again.
"""

import hashlib
import ipaddress
from collections.abc import Sequence
from typing import Any

import msgspec
from aiohttp import web
from msgspec import UNSET

from events.store import NO_STREAM, StreamAppend
from service.auth import AuthContext
from service.compute.directory import get, select
from service.compute.events import ServerCreateRequested
from service.errors import BadRequest, Conflict, NotFound
from service.http.recording import new_uuid, record_streams, store
from service.network import events as ev
from service.network.api.common import Json
from service.network.api.floating_ips import association
from service.network.api.networks import visible_network
from service.network.api.ports import (
    FixedIpRequest,
    PortBody,
    new_port,
    record_with_addresses,
    security_group_ids,
)
from service.network.binding import floating_ips_of, released
from service.network.directory import FloatingIp, Network, Port
from service.network.ipam import default_pools
from service.network.reachability import ExternalGatewayForFloatingIPNotFound

DEFAULT_NETWORK = "auto_allocated_network"


def default_cidr(project_id: str) -> ipaddress.IPv4Network:
    """The range of a project's default network: a /24 of 10.0.0.0/8 chosen by the
    project's id, so that default networks of projects whose servers share a host
    rarely overlap there (a host network's range must be its own on the host)."""
    digest = hashlib.sha256(project_id.encode()).digest()
    return ipaddress.IPv4Network(f"10.{digest[0]}.{digest[1]}.0/24")


async def default_network(request: web.Request, project_id: str) -> Network:
    """The project's default network, created with one IPv4 subnet on its first use (a
    concurrent request creating it too is fine: the read model keeps one)."""
    db = store(request).pool
    where = "project_id = $1 AND is_default AND NOT external"
    for _ in range(2):
        found = await select(db, Network, where, project_id)
        if found:
            return found[0]
        network_id, subnet_id = new_uuid(request), new_uuid(request)
        cidr = default_cidr(project_id)
        gateway = next(cidr.hosts())
        network = ev.NetworkCreated(
            network_id=network_id, project_id=project_id, name=DEFAULT_NETWORK, is_default=True
        )
        subnet = ev.SubnetCreated(
            subnet_id=subnet_id,
            network_id=network_id,
            project_id=project_id,
            cidr=str(cidr),
            gateway_ip=str(gateway),
            allocation_pools=default_pools(cidr, gateway),
            name="auto_allocated_subnet_v4",
        )
        appends = [
            StreamAppend(f"network-{network_id}", [network], NO_STREAM),
            StreamAppend(f"subnet-{subnet_id}", [subnet], NO_STREAM),
        ]
        try:
            await record_streams(request, appends)
        except Conflict as error:
            if type(error) is not Conflict:  # over quota, say
                raise
            # another request made the project's default network first
    raise Conflict(f"The default network of project {project_id} could not be made; retry.")


class Wanted(msgspec.Struct, frozen=True):
    """One interface a new server asked for: a network (with a fixed address), or a port."""

    network: Network
    port: Port | None = None
    fixed_ip: str | None = None


async def _wanted(
    request: web.Request, ctx: AuthContext, project_id: str, networks: Any, count: int
) -> list[Wanted]:
    """The interfaces Nova's `networks` asks for; 400 (409 for a port in use) as Nova."""
    if networks is None or networks == "auto":
        return [Wanted(await default_network(request, project_id))]
    if networks == "none":
        return []
    if not isinstance(networks, list):
        raise BadRequest(f"Invalid input for field/attribute networks: {networks!r}.")
    found = []
    for item in networks:
        if not isinstance(item, dict) or not {"uuid", "port"} & set(item):
            raise BadRequest("Bad networks format: a network needs a uuid or a port.")
        if item.get("port"):
            found.append(await _port(request, ctx, str(item["port"]), count))
            continue
        try:
            network = await visible_network(request, ctx, str(item["uuid"]))
        except NotFound:
            raise BadRequest(f"Network {item['uuid']} could not be found.") from None
        fixed = item.get("fixed_ip")
        if fixed is not None and count > 1:
            raise BadRequest("Unable to launch multiple instances with a single fixed IP.")
        found.append(Wanted(network, fixed_ip=None if fixed is None else str(fixed)))
    return found


async def _port(request: web.Request, ctx: AuthContext, port_id: str, count: int) -> Wanted:
    db = store(request).pool
    port = await get(db, Port, port_id)
    if port is None or not (ctx.is_admin or port.project_id == ctx.project_id):
        raise BadRequest(f"Port id {port_id} could not be found.")
    if port.device_id:
        raise Conflict(f"Port {port_id} is still in use.")
    if count > 1:
        raise BadRequest("Unable to launch multiple instances with a single configured port ID.")
    network = await get(db, Network, port.network_id)
    assert network is not None  # a port's network outlives it (foreign key)
    return Wanted(network, port=port)


async def plug_servers(
    request: web.Request,
    ctx: AuthContext,
    networks: Any,
    servers: Sequence[ServerCreateRequested],
) -> list[str]:
    """Give each new server the ports its request's `networks` asks for (new ones, or
    given ones bound to it), in one append; the ids of those ports, for `unplug`."""
    if not servers:
        return []
    first = servers[0]
    wanted = await _wanted(request, ctx, first.project_id, networks, len(servers))
    owner = f"compute:{first.availability_zone.split(':', 1)[0]}"
    try:
        groups = await security_group_ids(request, first.project_id, first.security_groups)
    except NotFound as error:
        raise BadRequest(error.message) from None
    ports: list[str] = []

    async def plan() -> list[StreamAppend]:
        appends = []
        ports.clear()
        for server in servers:
            for want in wanted:
                if want.port is not None:
                    bound = ev.PortUpdated(
                        port_id=want.port.id, device_id=server.server_id, device_owner=owner
                    )
                    version = want.port.revision_number
                    appends.append(StreamAppend(f"port-{want.port.id}", [bound], version))
                    ports.append(want.port.id)
                    continue
                fixed = [FixedIpRequest(ip_address=want.fixed_ip)] if want.fixed_ip else UNSET
                body = PortBody(
                    fixed_ips=fixed,
                    device_id=server.server_id,
                    device_owner=owner,
                    security_groups=list(groups),
                )
                port = await new_port(
                    request, want.network, server.project_id, body, auto_delete=True
                )
                appends.append(StreamAppend(f"port-{port.port_id}", [port], NO_STREAM))
                ports.append(port.port_id)
        return appends

    await record_with_addresses(request, plan)
    return ports


async def unplug(request: web.Request, *device_ids: str) -> None:
    """Release servers' ports: those made for them are deleted (their addresses freed),
    those they were given are unbound."""
    db = store(request).pool
    for _ in range(5):
        ports = await select(db, Port, "device_id = ANY($1)", list(device_ids))
        if not ports:
            return
        fips = await floating_ips_of(db, [p.id for p in ports])
        appends = [append for port in ports for append in released(port, fips)]
        try:
            await record_streams(request, appends)
            return
        except Conflict:
            continue  # a port changed meanwhile: look again


def _label(network: Any) -> str:
    return str(network["name"] or network["network_id"])


async def addresses(db: Any, server_ids: Sequence[str]) -> dict[str, dict[str, list[Json]]]:
    """Each server's addresses by network name, as Nova shows them: its ports' fixed
    addresses, then the floating addresses that reach them."""
    rows = await db.fetch(
        "SELECT p.id, p.device_id, p.mac_address, p.fixed_ips, n.name, n.id AS network_id"
        " FROM rm_ports p JOIN rm_networks n ON n.id = p.network_id"
        " WHERE p.device_id = ANY($1) ORDER BY p.created_at, p.id",
        list(server_ids),
    )
    fips = await select(db, FloatingIp, "port_id = ANY($1)", [r["id"] for r in rows])
    found: dict[str, dict[str, list[Json]]] = {}
    for row in rows:
        shown = found.setdefault(row["device_id"], {}).setdefault(_label(row), [])
        fixed = msgspec.json.decode(row["fixed_ips"], type=list[ev.FixedIp])
        kinds = [(ip.ip_address, "fixed") for ip in fixed] + [
            (f.floating_ip_address, "floating") for f in fips if f.port_id == row["id"]
        ]
        shown += [
            {
                "version": 6 if ":" in address else 4,
                "addr": address,
                "OS-EXT-IPS:type": kind,
                "OS-EXT-IPS-MAC:mac_addr": row["mac_address"],
            }
            for address, kind in kinds
        ]
    return found


def plain(shown: dict[str, list[Json]]) -> dict[str, list[Json]]:
    """Addresses by network without the OS-EXT-IPS extensions (version and address only),
    as Nova shows them in /ips and in update and rebuild answers."""
    return {
        label: [{"version": a["version"], "addr": a["addr"]} for a in addresses]
        for label, addresses in shown.items()
    }


async def _floating_ip(request: web.Request, project_id: str, address: str) -> FloatingIp:
    found = await select(
        store(request).pool,
        FloatingIp,
        "floating_ip_address = $1 AND project_id = $2",
        address,
        project_id,
    )
    if not found:
        raise NotFound(f"Floating IP not found for address {address}.")
    return found[0]


async def add_floating_ip(
    request: web.Request, ctx: AuthContext, server_id: str, project_id: str, body: Any
) -> None:
    """Nova's addFloatingIp: the project's floating IP `address` to the server's port
    holding `fixed_address` (by default its first port with an IPv4 address). Neutron's
    refusal for want of a router is a 400, as Nova turns it into one."""
    if not isinstance(body, dict) or not body.get("address"):
        raise BadRequest("Invalid input: addFloatingIp needs an address.")
    fip = await _floating_ip(request, project_id, str(body["address"]))
    fixed = body.get("fixed_address")
    ports = [
        p
        for p in await select(store(request).pool, Port, "device_id = $1", server_id)
        if any(ip.ip_address == fixed if fixed else ":" not in ip.ip_address for ip in p.fixed_ips)
    ]
    if not ports:
        raise BadRequest(f"Instance {server_id} has no fixed address {fixed or ''} to use.")
    address = fixed or next(ip.ip_address for ip in ports[0].fixed_ips if ":" not in ip.ip_address)
    network_id = fip.floating_network_id
    try:
        link = await association(request, ctx, project_id, network_id, ports[0].id, address, fip.id)
    except ExternalGatewayForFloatingIPNotFound as error:
        raise BadRequest(
            f"Unable to associate floating IP {fip.floating_ip_address} to fixed IP {address} "
            f"for instance {server_id}. Error: {error.message}"
        ) from None
    stream = StreamAppend(f"floatingip-{fip.id}", [link], fip.revision_number)
    await record_streams(request, [stream])


async def remove_floating_ip(
    request: web.Request, server_id: str, project_id: str, body: Any
) -> None:
    """Nova's removeFloatingIp: the floating IP `address` lets go of the server."""
    if not isinstance(body, dict) or not body.get("address"):
        raise BadRequest("Invalid input: removeFloatingIp needs an address.")
    fip = await _floating_ip(request, project_id, str(body["address"]))
    mine = await select(store(request).pool, Port, "device_id = $1", server_id)
    if fip.port_id not in {p.id for p in mine}:
        raise Conflict(
            f"Floating IP {fip.floating_ip_address} is not associated with instance {server_id}."
        )
    free = ev.FloatingIpAssociated(floating_ip_id=fip.id, port_id=None)
    await record_streams(
        request, [StreamAppend(f"floatingip-{fip.id}", [free], fip.revision_number)]
    )


async def follow_security_groups(
    request: web.Request, server_id: str, project_id: str, names: Sequence[str]
) -> None:
    """Give the server's ports (those with port security) the groups it now has by name,
    as Nova's addSecurityGroup and removeSecurityGroup do through Neutron."""
    groups = await security_group_ids(request, project_id, names) if names else ()
    ports = await select(store(request).pool, Port, "device_id = $1", server_id)
    appends = [
        StreamAppend(
            f"port-{port.id}",
            [ev.PortUpdated(port_id=port.id, security_groups=groups)],
            port.revision_number,
        )
        for port in ports
        if port.port_security_enabled and tuple(port.security_groups) != groups
    ]
    if appends:
        await record_streams(request, appends)
