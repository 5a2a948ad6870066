"""Nova's network proxies (up to 2.35): /v2.1/os-networks and /v2.1/os-tenant-networks show
the network service's networks the caller may see, in the little Nova still shows of them
since nova-network went (an id and a label; every other nova-network field empty)."""

from typing import Any

from aiohttp import web

from service.auth import caller
from service.compute.api.microversion import version_of
from service.compute.policy_rules import authorize
from service.errors import NotFound
from service.http.body import json_response
from service.network.api.common import listable
from service.network.api.networks import visible_network
from service.network.directory import NETWORK_VISIBLE, Network

ROUTES = web.RouteTableDef()

EMPTY = (
    "cidr",
    "netmask",
    "gateway",
    "broadcast",
    "dns1",
    "dns2",
    "cidr_v6",
    "gateway_v6",
    "netmask_v6",
)
"""The nova-network fields os-networks shows, always empty with Neutron (as in Nova)."""


def _network(network: Network) -> dict[str, Any]:
    return {"id": network.id, "label": network.name} | dict.fromkeys(EMPTY)


def _tenant_network(network: Network) -> dict[str, Any]:
    # Nova shows the text "None" as the cidr here, as it always has with Neutron
    return {"id": network.id, "label": network.name, "cidr": "None"}


async def _visible(request: web.Request, action: str) -> list[Network]:
    if version_of(request).at_least("2.36"):
        raise NotFound("The resource could not be found.")
    ctx = authorize(request, action)
    return await listable(request, ctx, Network, NETWORK_VISIBLE.format(p="$1"))


async def _one(request: web.Request, action: str) -> Network:
    if version_of(request).at_least("2.36"):
        raise NotFound("The resource could not be found.")
    authorize(request, action)
    return await visible_network(request, caller(request), request.match_info["network_id"])


@ROUTES.get("/v2.1/os-networks")
async def list_networks(request: web.Request) -> web.Response:
    found = await _visible(request, "os_compute_api:os-networks:list")
    return json_response({"networks": [_network(n) for n in found]})


@ROUTES.get("/v2.1/os-networks/{network_id}")
async def show_network(request: web.Request) -> web.Response:
    network = await _one(request, "os_compute_api:os-networks:view")
    return json_response({"network": _network(network)})


@ROUTES.get("/v2.1/os-tenant-networks")
async def list_tenant_networks(request: web.Request) -> web.Response:
    found = await _visible(request, "os_compute_api:os-tenant-networks:list")
    return json_response({"networks": [_tenant_network(n) for n in found]})


@ROUTES.get("/v2.1/os-tenant-networks/{network_id}")
async def show_tenant_network(request: web.Request) -> web.Response:
    network = await _one(request, "os_compute_api:os-tenant-networks:show")
    return json_response({"network": _tenant_network(network)})
