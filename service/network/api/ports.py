"""/v2.0/ports: a port on a network with its addresses (chosen from the subnets' pools
or asked for), MAC address, device, security groups; create (one or in bulk), list,
show, update, delete (which frees its addresses).

Addresses are taken by the append itself (service/network/ipam.py): when a racing
request took a chosen address first, the port is planned again and appended again.
"""

import ipaddress
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any

import msgspec
from aiohttp import web
from msgspec import UNSET, Meta, UnsetType

from events.store import NO_STREAM, AppendResult, StreamAppend
from events.types import RecordedEvent
from service.audit.joining import committed, joined
from service.auth import AuthContext
from service.compute.api.security_groups import DEFAULT, ensure_default
from service.compute.directory import SecurityGroup, get, select
from service.errors import BadRequest, Conflict, NotFound
from service.http.keys import IDS
from service.http.recording import new_uuid, record_streams, store
from service.network import events as ev
from service.network import fold, ipam
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
from service.network.binding import deleted, floating_ips_of
from service.network.directory import ROUTER_GATEWAY, ROUTER_INTERFACE, Network, Port, Subnet
from service.network.policy_rules import authorize
from service.network.projection import AddressInUse, MacInUse

ROUTES = web.RouteTableDef()
Text = Annotated[str, Meta(max_length=255)]
_RETRIES = 50


class FixedIpRequest(msgspec.Struct, forbid_unknown_fields=True):
    subnet_id: str | UnsetType = UNSET
    ip_address: str | UnsetType = UNSET


class PortBody(
    msgspec.Struct,
    forbid_unknown_fields=True,
    rename={
        "binding_host_id": "binding:host_id",
        "binding_vnic_type": "binding:vnic_type",
        "binding_profile": "binding:profile",
    },
):
    network_id: str | UnsetType = UNSET
    name: Text | UnsetType = UNSET
    description: Text | UnsetType = UNSET
    admin_state_up: bool | UnsetType = UNSET
    mac_address: str | UnsetType = UNSET
    fixed_ips: list[FixedIpRequest] | UnsetType = UNSET
    device_id: Text | UnsetType = UNSET
    device_owner: Text | UnsetType = UNSET
    security_groups: list[str] | None | UnsetType = UNSET
    port_security_enabled: bool | UnsetType = UNSET
    project_id: str | UnsetType = UNSET
    tenant_id: str | UnsetType = UNSET
    binding_host_id: str | UnsetType = UNSET
    binding_vnic_type: str | UnsetType = UNSET
    binding_profile: dict[str, Any] | UnsetType = UNSET
    allowed_address_pairs: list[dict[str, Any]] | UnsetType = UNSET
    extra_dhcp_opts: list[dict[str, Any]] | UnsetType = UNSET
    dns_name: str | UnsetType = UNSET
    qos_policy_id: None | UnsetType = UNSET


def status(port: Port) -> str:
    """ACTIVE while a device is plugged into the port, DOWN otherwise."""
    return "ACTIVE" if port.device_id and port.admin_state_up else "DOWN"


def view(port: Port, *, admin: bool) -> Json:
    shown: Json = {
        "id": port.id,
        "name": port.name,
        "description": port.description,
        "network_id": port.network_id,
        "mac_address": port.mac_address,
        "admin_state_up": port.admin_state_up,
        "status": status(port),
        "device_id": port.device_id,
        "device_owner": port.device_owner,
        "fixed_ips": [msgspec.to_builtins(ip) for ip in port.fixed_ips],
        "allowed_address_pairs": [],
        "extra_dhcp_opts": [],
        "security_groups": port.security_groups,
        "port_security_enabled": port.port_security_enabled,
        "binding:vnic_type": "normal",
        "dns_name": "",
        "dns_assignment": [],
        "qos_policy_id": None,
        "qos_network_policy_id": None,
        "propagate_uplink_status": False,
        "ip_allocation": "immediate",
        "resource_request": None,
    } | standard(port.project_id, port.created_at, port.updated_at, port.revision_number)
    if admin:
        bound = bool(port.binding_host_id)
        shown |= {
            "binding:host_id": port.binding_host_id,
            "binding:profile": {},
            "binding:vif_type": "bridge" if bound else "unbound",
            "binding:vif_details": {},
        }
    return shown


async def visible_port(request: web.Request, ctx: AuthContext, port_id: str) -> Port:
    port = await get(store(request).pool, Port, port_id)
    if port is None or not (ctx.is_admin or port.project_id == ctx.project_id):
        raise NotFound(f"Port {port_id} could not be found.")
    return port


def new_mac(request: web.Request) -> str:
    """A MAC address in OpenStack's fa:16:3e prefix, its last three bytes fresh."""
    tail = request.config_dict[IDS].new_id().bytes[:3]
    return "fa:16:3e:" + ":".join(f"{b:02x}" for b in tail)


def _mac(text: str) -> str:
    parts = text.lower().replace("-", ":").split(":")
    if len(parts) != 6 or not all(
        len(p) == 2 and all(c in "0123456789abcdef" for c in p) for p in parts
    ):
        raise BadRequest(f"Invalid input for mac_address. Reason: '{text}' is not a valid MAC.")
    if int(parts[0], 16) & 1 or parts == ["00"] * 6:
        raise BadRequest(f"Invalid input for mac_address: {text} is not a unicast MAC.")
    return ":".join(parts)


async def addresses(
    db: Any,
    network: Network,
    requested: Sequence[FixedIpRequest] | None,
    *,
    held: Sequence[ev.FixedIp] = (),
) -> tuple[ev.FixedIp, ...]:
    """The addresses a port on `network` gets: one from the first IPv4 subnet with room
    when none are asked for; else each asked for (a subnet's free address, or the given
    one, which must be free or the port's own already). 400 for a subnet of another
    network or an address outside its subnet, 409 for one taken or a full subnet."""
    if requested is None:
        proposed = await ipam.proposed(db, network.id)
        for subnet_id, free in proposed:
            if free is not None:
                return (ev.FixedIp(subnet_id, free),)
        if not proposed:
            return ()
    subnets = await select(db, Subnet, "network_id = $1", network.id)
    if requested is None:  # every draw hit taken addresses: look at each subnet in full
        for subnet in subnets:
            chosen = await ipam.choose(db, subnet)
            if chosen is not None:
                return (ev.FixedIp(subnet.id, chosen),)
        raise ipam.AddressesExhausted(network.id)
    by_id = {s.id: s for s in subnets}
    found: list[ev.FixedIp] = []
    for wanted in requested:
        subnet = _subnet_for(wanted, by_id, network.id)
        if given(wanted.ip_address):
            address = _in_subnet(str(wanted.ip_address), subnet)
            mine = any(h.ip_address == address and h.subnet_id == subnet.id for h in held)
            if not mine and await ipam.taken(db, subnet.id, [address]):
                raise Conflict(f"IP address {address} already allocated in subnet {subnet.id}")
            found.append(ev.FixedIp(subnet.id, address))
            continue
        kept = [h for h in held if h.subnet_id == subnet.id and h not in found]
        if kept:
            found.append(kept[0])
            continue
        avoid = frozenset(f.ip_address for f in found if f.subnet_id == subnet.id)
        chosen = await ipam.choose(db, subnet, avoid)
        if chosen is None:
            raise ipam.AddressesExhausted(network.id)
        found.append(ev.FixedIp(subnet.id, chosen))
    if len(set(found)) != len(found):
        raise BadRequest("Invalid input: the same address is asked for twice.")
    return tuple(found)


def _subnet_for(wanted: FixedIpRequest, subnets: dict[str, Subnet], network_id: str) -> Subnet:
    if given(wanted.subnet_id):
        subnet = subnets.get(str(wanted.subnet_id))
        if subnet is None:
            raise BadRequest(
                f"Invalid input for operation: Failed to create port on network {network_id}, "
                f"because fixed_ips included invalid subnet {wanted.subnet_id}."
            )
        return subnet
    if not given(wanted.ip_address):
        raise BadRequest("Invalid input: a fixed IP needs a subnet_id or an ip_address.")
    for subnet in subnets.values():
        try:
            if ipaddress.ip_address(str(wanted.ip_address)) in ipaddress.ip_network(subnet.cidr):
                return subnet
        except ValueError:
            break
    raise BadRequest(f"Invalid input: no subnet of network {network_id} holds {wanted.ip_address}.")


def _in_subnet(text: str, subnet: Subnet) -> str:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise BadRequest(f"Invalid input for ip_address: '{text}' is not an IP address.") from None
    network = ipaddress.ip_network(subnet.cidr)
    if address not in network or address in (network.network_address, network.broadcast_address):
        raise BadRequest(f"IP address {text} is not a valid IP for the subnet {subnet.id}.")
    return str(address)


async def security_group_ids(
    request: web.Request, project_id: str, wanted: Sequence[str] | None
) -> tuple[str, ...]:
    """The ids of the port's groups: the project's `default` group unless others are
    named (by id, or by name as Nova names them); 404 for one the project lacks."""
    names = [DEFAULT] if wanted is None else list(wanted)
    where = "project_id = $1 AND (id = ANY($2) OR name = ANY($2))"
    groups = await select(store(request).pool, SecurityGroup, where, project_id, names)
    if DEFAULT in names and all(g.name != DEFAULT for g in groups):
        await ensure_default(request, project_id)
        groups = await select(store(request).pool, SecurityGroup, where, project_id, names)
    found: list[str] = []
    for name in dict.fromkeys(names):
        match = [g.id for g in groups if g.id == name] or [g.id for g in groups if g.name == name]
        if not match:
            raise NotFound(f"Security group {name} does not exist")
        found.append(match[0])
    return tuple(found)


async def record_with_addresses(
    request: web.Request, plan: Callable[[], Awaitable[list[StreamAppend]]]
) -> AppendResult:
    """Append what `plan` makes; when a racing request took an address or MAC address it
    chose first, plan again (an address asked for by name is then refused by `plan`)."""
    for _ in range(_RETRIES):
        appends = await plan()
        if not appends:
            return AppendResult(())
        try:
            return await record_streams(request, appends)
        except (AddressInUse, MacInUse):
            continue
    raise Conflict("Addresses on this network are changing too fast to allocate one; retry.")


async def new_port(
    request: web.Request,
    network: Network,
    project_id: str,
    body: PortBody,
    *,
    auto_delete: bool = False,
) -> ev.PortCreated:
    """The event creating a port on `network` as `body` asks (addresses chosen now)."""
    db = store(request).pool
    security = or_default(body.port_security_enabled, network.port_security_enabled)
    owner = or_default(body.device_owner, "")
    if not given(body.security_groups) and security and not owner.startswith("network:"):
        groups = await security_group_ids(request, project_id, None)
    elif given(body.security_groups) and body.security_groups:
        if not security:
            raise BadRequest("Port security must be enabled in order to have security groups.")
        groups = await security_group_ids(request, project_id, body.security_groups)
    else:
        groups = ()
    requested = or_default(body.fixed_ips, None)
    mac = _mac(str(body.mac_address)) if given(body.mac_address) else new_mac(request)
    if given(body.mac_address) and await db.fetchval(
        "SELECT 1 FROM rm_ports WHERE network_id = $1 AND mac_address = $2", network.id, mac
    ):
        raise Conflict(
            f"Unable to complete operation for network {network.id}. The mac address {mac} "
            "is in use."
        )
    return ev.PortCreated(
        port_id=new_uuid(request),
        network_id=network.id,
        project_id=project_id,
        mac_address=mac,
        fixed_ips=await addresses(db, network, requested),
        name=or_default(body.name, ""),
        description=or_default(body.description, ""),
        admin_state_up=or_default(body.admin_state_up, True),
        device_id=or_default(body.device_id, ""),
        device_owner=owner,
        security_groups=groups,
        port_security_enabled=security,
        binding_host_id=or_default(body.binding_host_id, ""),
        auto_delete=auto_delete,
    )


def _check_extras(body: PortBody) -> None:
    if given(body.binding_vnic_type) and body.binding_vnic_type != "normal":
        raise BadRequest("Kumo's ports are of vnic type 'normal' only.")
    for name in ("allowed_address_pairs", "extra_dhcp_opts"):
        if getattr(body, name) not in (UNSET, []):
            raise BadRequest(f"Kumo does not support {name} on ports.")


@ROUTES.post("/v2.0/ports")
async def create_ports(request: web.Request) -> web.Response:
    bodies, bulk = await read_items(request, "port", "ports", PortBody)
    ctx = authorize(request, "create_port")
    plans = []
    for body in bodies:
        _check_extras(body)
        if not given(body.network_id):
            raise BadRequest("Invalid input: network_id is required.")
        network = await visible_network(request, ctx, str(body.network_id))
        project_id = owner_of(ctx, body.project_id, body.tenant_id)
        authorize(request, "create_port", {"project_id": project_id})
        for name in ("mac_address", "binding:host_id"):
            if given(getattr(body, name.replace(":", "_"))):
                authorize(request, f"create_port:{name}", {"project_id": network.project_id})
        plans.append((network, project_id, body))
    audit: list[StreamAppend] = []

    async def plan() -> list[StreamAppend]:
        made = [await new_port(request, n, p, b) for n, p, b in plans]
        appends = [StreamAppend(f"port-{e.port_id}", [e], NO_STREAM) for e in made]
        # Nothing after the append can fail: the audit record commits with the ports.
        audit[:] = [a for a in [joined(request, 201, appends)] if a is not None]
        return [*appends, *audit]

    result = await record_with_addresses(request, plan)
    if audit:
        committed(request, 201)
    shown = [
        view(port_row(recorded), admin=ctx.is_admin)
        for recorded in result.events
        if isinstance(recorded.event, ev.PortCreated)
    ]
    return created("port", "ports", shown, bulk)


def port_row(recorded: RecordedEvent) -> Port:
    """The row a `PortCreated` makes, as the projection writes it."""
    return msgspec.convert(fold.created(recorded), Port)


@ROUTES.get("/v2.0/ports")
async def list_ports(request: web.Request) -> web.Response:
    ctx = authorize(request, "get_port")
    ports = await listable(request, ctx, Port)
    return listing(request, "ports", [view(p, admin=ctx.is_admin) for p in ports])


@ROUTES.get("/v2.0/ports/{port_id}")
async def show_port(request: web.Request) -> web.Response:
    ctx = authorize(request, "get_port")
    port = await visible_port(request, ctx, request.match_info["port_id"])
    return fields_of(request, "port", view(port, admin=ctx.is_admin))


@ROUTES.put("/v2.0/ports/{port_id}")
async def update_port(request: web.Request) -> web.Response:
    ctx = authorize(request, "get_port")
    port_id = request.match_info["port_id"]
    body = await read_changes(request, "port", PortBody)
    _check_extras(body)
    for name in ("network_id", "project_id", "tenant_id"):
        if given(getattr(body, name)):
            raise BadRequest(f"Cannot update read-only attribute {name}.")

    async def plan() -> list[StreamAppend]:
        port = await visible_port(request, ctx, port_id)
        authorize(request, "update_port", {"project_id": port.project_id})
        for name in ("mac_address", "binding:host_id"):
            if given(getattr(body, name.replace(":", "_"))):
                authorize(request, f"update_port:{name}", {"project_id": port.project_id})
        return [
            StreamAppend(
                f"port-{port.id}", [await _changes(request, port, body)], port.revision_number
            )
        ]

    await record_with_addresses(request, plan)
    return one("port", view(await visible_port(request, ctx, port_id), admin=ctx.is_admin))


async def _changes(request: web.Request, port: Port, body: PortBody) -> ev.PortUpdated:
    db = store(request).pool
    network = await get(db, Network, port.network_id)
    assert network is not None  # a port's network outlives it (foreign key)
    security = or_default(body.port_security_enabled, port.port_security_enabled)
    groups: tuple[str, ...] | UnsetType = UNSET
    if given(body.security_groups):
        groups = await security_group_ids(request, port.project_id, body.security_groups or [])
    if not security and (groups if given(groups) else port.security_groups):
        raise Conflict(
            f"Port {port.id} has security groups; remove them before disabling port security."
        )
    fixed: tuple[ev.FixedIp, ...] | UnsetType = UNSET
    if not isinstance(body.fixed_ips, UnsetType):
        fixed = await addresses(db, network, body.fixed_ips, held=port.fixed_ips)
    return ev.PortUpdated(
        port_id=port.id,
        name=body.name,
        description=body.description,
        admin_state_up=body.admin_state_up,
        mac_address=_mac(str(body.mac_address)) if given(body.mac_address) else UNSET,
        fixed_ips=fixed,
        device_id=body.device_id,
        device_owner=body.device_owner,
        security_groups=groups,
        port_security_enabled=body.port_security_enabled,
        binding_host_id=body.binding_host_id,
    )


@ROUTES.delete("/v2.0/ports/{port_id}")
async def delete_port(request: web.Request) -> web.Response:
    ctx = authorize(request, "get_port")
    port = await visible_port(request, ctx, request.match_info["port_id"])
    authorize(request, "delete_port", {"project_id": port.project_id})
    if port.device_owner in (ROUTER_INTERFACE, ROUTER_GATEWAY):
        raise Conflict(
            f"Port {port.id} cannot be deleted directly via the port API: has device owner "
            f"{port.device_owner}."
        )
    fips = await floating_ips_of(store(request).pool, [port.id])
    await record_streams(request, deleted(port, fips))
    return web.Response(status=204)
