"""A server's network side through Nova: /v2.1/servers/{id}/os-interface (its ports) and
/v2.1/servers/{id}/ips (its addresses by network), read from the network service."""

from typing import Any

from aiohttp import web

from service.compute.api.servers import visible_server
from service.compute.directory import select
from service.errors import NotFound
from service.http.body import json_response
from service.http.recording import store
from service.network.directory import Port
from service.network.nova import addresses

ROUTES = web.RouteTableDef()


def _attachment(port: Port) -> dict[str, Any]:
    return {
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
    return json_response({"interfaceAttachments": [_attachment(p) for p in ports]})


@ROUTES.get("/v2.1/servers/{server_id}/os-interface/{port_id}")
async def show_interface(request: web.Request) -> web.Response:
    server = await visible_server(request, request.match_info["server_id"])
    port_id = request.match_info["port_id"]
    found = await select(
        store(request).pool, Port, "device_id = $1 AND id = $2", server.id, port_id
    )
    if not found:
        raise NotFound(f"Instance {server.id} is not attached to port {port_id}.")
    return json_response({"interfaceAttachment": _attachment(found[0])})


async def _ips(request: web.Request) -> dict[str, list[dict[str, Any]]]:
    server = await visible_server(request, request.match_info["server_id"])
    by_network = (await addresses(store(request).pool, [server.id])).get(server.id, {})
    return {
        label: [{"version": a["version"], "addr": a["addr"]} for a in shown]
        for label, shown in by_network.items()
    }


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
