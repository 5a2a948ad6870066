"""A server's network side through Nova: /v2.1/servers/{id}/os-interface (its ports:
list, show, attach, detach) and /v2.1/servers/{id}/ips (its addresses by network), read
from and recorded in the network service.

Attaching binds a port to the server (a given one, or one Kumo makes on a network, which
goes again with the detach or the server) and requests `attach_interface` in one append;
the server's host then plugs the interface into its domain. Detaching requests
`detach_interface`; the host unplugs it and only then releases the port
(service/compute/reactor.py), so the port's host state outlives the guest's use of it.
"""

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from aiohttp import web
from msgspec import UNSET, UnsetType

from events.store import NO_STREAM, StreamAppend
from events.types import Event
from service.auth import AuthContext, caller
from service.compute import events as ev
from service.compute.api.actions import _unlocked
from service.compute.api.microversion import Microversion, version_of
from service.compute.api.params import is_uuid
from service.compute.api.server_request import refuse_tag
from service.compute.api.servers import act, refuse_busy, require_member, visible_server
from service.compute.directory import Server, get, select
from service.errors import BadRequest, Conflict, NotFound
from service.http.body import json_response, read_json
from service.http.recording import record_streams, store
from service.network import events as nev
from service.network.api.networks import visible_network
from service.network.api.ports import (
    FixedIpRequest,
    PortBody,
    new_port,
    security_group_ids,
)
from service.network.directory import Port
from service.network.ipam import AddressesExhausted
from service.network.nova import addresses, default_network, plain
from service.network.projection import AddressInUse, MacInUse

ROUTES = web.RouteTableDef()
_RETRIES = 10
_ATTACHABLE = frozenset({"active", "paused", "stopped"})
"""The vm states a server may gain or lose an interface in, as Nova allows."""


def _attachment(request: web.Request, port: Port) -> dict[str, Any]:
    """The port as the server's interface; from 2.70 with its device tag (Kumo takes
    none, see service/compute/api/server_request.py: null)."""
    tag = {"tag": None} if version_of(request).at_least("2.70") else {}
    return tag | {
        "port_id": port.id,
        "net_id": port.network_id,
        "mac_addr": port.mac_address,
        "port_state": "ACTIVE" if port.admin_state_up else "DOWN",
        "fixed_ips": [
            {"subnet_id": ip.subnet_id, "ip_address": ip.ip_address} for ip in port.fixed_ips
        ],
    }


@ROUTES.get("/v2.1/servers/{server_id}/os-interface")
async def list_interfaces(request: web.Request) -> web.Response:
    server = await visible_server(request, request.match_info["server_id"])
    ports = await select(store(request).pool, Port, "device_id = $1", server.id)
    return json_response({"interfaceAttachments": [_attachment(request, p) for p in ports]})


class FixedIpAsked(msgspec.Struct, forbid_unknown_fields=True):
    ip_address: str


class Attachment(msgspec.Struct, forbid_unknown_fields=True):
    port_id: str | UnsetType = UNSET
    net_id: str | UnsetType = UNSET
    fixed_ips: list[FixedIpAsked] | UnsetType = UNSET
    tag: object = UNSET


class AttachBody(msgspec.Struct, rename={"attachment": "interfaceAttachment"}):
    attachment: Attachment = msgspec.field(default_factory=Attachment)


def _check(attachment: Attachment, version: Microversion) -> None:
    """400 for what Nova's schema refuses at `version`, and for a device tag (2.49)."""
    if attachment.tag is not UNSET:
        refuse_tag(attachment.tag, version.at_least("2.49"), "interfaceAttachment")
    for name in ("port_id", "net_id"):
        value = getattr(attachment, name)
        if isinstance(value, str) and not is_uuid(value):
            raise BadRequest(f"Invalid input for field/attribute {name}: {value!r} is not a UUID.")
    if isinstance(attachment.port_id, str) and isinstance(attachment.net_id, str):
        raise BadRequest("Must not input both network_id and port_id")
    if isinstance(attachment.fixed_ips, list):
        if not isinstance(attachment.net_id, str):
            raise BadRequest("Invalid input: fixed_ips needs net_id.")
        if len(attachment.fixed_ips) != 1:
            raise BadRequest("Invalid input for field/attribute fixed_ips: one address only.")


def _ready(request: web.Request, server: Server, action: str) -> None:
    """409 unless the server may gain or lose an interface now."""
    require_member(caller(request), server)
    _unlocked(request, server)
    refuse_busy(server, action, _ATTACHABLE)
    if server.host is None:
        raise Conflict(f"Instance {server.id} is not ready")


def _requested(server: Server, action: str, port: Port | nev.PortCreated) -> StreamAppend:
    """The server's append requesting the host to plug or unplug the port's interface."""
    port_id = port.id if isinstance(port, Port) else port.port_id
    params = {"port_id": port_id, "network_id": port.network_id, "mac_address": port.mac_address}
    requested = ev.ServerActionRequested(server_id=server.id, action=action, params=params)
    return StreamAppend(f"server-{server.id}", [requested], server.version)


async def _given_port(
    ctx: AuthContext, db: Any, server: Server, port_id: str
) -> tuple[Port, StreamAppend]:
    """An existing port and the append binding it to the server: 404 for a port the
    caller does not see, 409 for one in use, 400 for one of another project."""
    port = await get(db, Port, port_id)
    if port is None or not (ctx.is_admin or port.project_id == ctx.project_id):
        raise NotFound(f"Port id {port_id} could not be found.")
    if port.device_id:
        raise Conflict(f"Port {port_id} is still in use.")
    if port.project_id != server.project_id:
        raise BadRequest(f"Port {port_id} not usable for instance {server.id}.")
    bound = nev.PortUpdated(port_id=port.id, device_id=server.id, device_owner=_owner(server))
    return port, StreamAppend(f"port-{port.id}", [bound], port.revision_number)


def _owner(server: Server) -> str:
    return f"compute:{server.availability_zone.split(':', 1)[0]}"


async def _new_port(
    request: web.Request, ctx: AuthContext, server: Server, attachment: Attachment
) -> nev.PortCreated:
    """A port made for the server on the network asked for (the project's default network
    when none is), with the address asked for and the server's security groups."""
    if isinstance(attachment.net_id, str):
        network = await visible_network(request, ctx, attachment.net_id)
    else:
        network = await default_network(request, server.project_id)
    fixed = (
        [FixedIpRequest(ip_address=ip.ip_address) for ip in attachment.fixed_ips]
        if isinstance(attachment.fixed_ips, list)
        else UNSET
    )
    groups: list[str] | UnsetType = UNSET
    if network.port_security_enabled:
        try:
            ids = await security_group_ids(request, server.project_id, server.security_groups)
        except NotFound as error:
            raise BadRequest(error.message) from None
        groups = list(ids)
    body = PortBody(
        fixed_ips=fixed, device_id=server.id, device_owner=_owner(server), security_groups=groups
    )
    try:
        return await new_port(request, network, server.project_id, body, auto_delete=True)
    except AddressesExhausted as error:
        raise BadRequest(error.message) from None


@ROUTES.post("/v2.1/servers/{server_id}/os-interface")
async def attach_interface(request: web.Request) -> web.Response:
    ctx = caller(request)
    server_id = request.match_info["server_id"]
    require_member(ctx, await visible_server(request, server_id))
    attachment = (await read_json(request, AttachBody)).attachment
    _check(attachment, version_of(request))
    db = store(request).pool
    attached: list[str] = []

    async def plan() -> list[StreamAppend]:
        server = await visible_server(request, server_id)
        _ready(request, server, "attach_interface")
        if isinstance(attachment.port_id, str):
            port, bind = await _given_port(ctx, db, server, attachment.port_id)
            attached[:] = [port.id]
            return [bind, _requested(server, "attach_interface", port)]
        made = await _new_port(request, ctx, server, attachment)
        attached[:] = [made.port_id]
        create = StreamAppend(f"port-{made.port_id}", [made], NO_STREAM)
        return [create, _requested(server, "attach_interface", made)]

    await _record_planned(request, plan)
    port = await get(db, Port, attached[0])
    if port is None:
        raise Conflict(f"Port {attached[0]} went while it was attached; retry.")
    return json_response({"interfaceAttachment": _attachment(request, port)})


async def _record_planned(
    request: web.Request, plan: Callable[[], Awaitable[list[StreamAppend]]]
) -> None:
    """Append what `plan` makes; when the server or a port changed meanwhile (the host
    finishing an earlier action, say) or a racing request took a chosen address, plan
    again on the new state. Other refusals (quota) stand."""
    refused: Conflict | None = None
    for _ in range(_RETRIES):
        appends = await plan()  # its own refusals are final
        try:
            await record_streams(request, appends)
            return
        except Conflict as error:
            if type(error) is not Conflict and not isinstance(error, (AddressInUse, MacInUse)):
                raise
            refused = error
    assert refused is not None
    raise refused


@ROUTES.delete("/v2.1/servers/{server_id}/os-interface/{port_id}")
async def detach_interface(request: web.Request) -> web.Response:
    server = await visible_server(request, request.match_info["server_id"])
    require_member(caller(request), server)
    port_id = request.match_info["port_id"]
    port = await get(store(request).pool, Port, port_id) if is_uuid(port_id) else None
    if port is None or port.device_id != server.id:
        raise NotFound(f"Port {port_id} is not attached")

    def decide(now: Server) -> list[Event]:
        _ready(request, now, "detach_interface")
        return list(_requested(now, "detach_interface", port).events)

    await act(request, server.id, decide)
    return web.Response(status=202)


@ROUTES.get("/v2.1/servers/{server_id}/os-interface/{port_id}")
async def show_interface(request: web.Request) -> web.Response:
    server = await visible_server(request, request.match_info["server_id"])
    port_id = request.match_info["port_id"]
    found = await select(
        store(request).pool, Port, "device_id = $1 AND id = $2", server.id, port_id
    )
    if not found:
        raise NotFound(f"Instance {server.id} is not attached to port {port_id}.")
    return json_response({"interfaceAttachment": _attachment(request, found[0])})


async def _ips(request: web.Request) -> dict[str, list[dict[str, Any]]]:
    server = await visible_server(request, request.match_info["server_id"])
    return plain((await addresses(store(request).pool, [server.id])).get(server.id, {}))


@ROUTES.get("/v2.1/servers/{server_id}/ips")
async def list_ips(request: web.Request) -> web.Response:
    return json_response({"addresses": await _ips(request)})


@ROUTES.get("/v2.1/servers/{server_id}/ips/{network}")
async def show_ips(request: web.Request) -> web.Response:
    label = request.match_info["network"]
    shown = await _ips(request)
    if label not in shown:
        raise NotFound("Network does not exist")
    return json_response({label: shown[label]})
