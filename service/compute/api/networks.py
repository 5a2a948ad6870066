"""Nova's network proxies (up to 2.35): /v2.1/os-networks and /v2.1/os-tenant-networks show
the network service's networks the caller may see, in the little Nova still shows of them
since nova-network went (an id and a label; every other nova-network field empty)."""

from collections.abc import Callable
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


View = Callable[[Network], dict[str, Any]]


def proxy(path: str, view: View, list_action: str, show_action: str) -> list[web.RouteDef]:
    """The list and show routes of one of Nova's network proxies at `path`: the networks
    the caller sees as `view` shows them, 404 past 2.35 or for one it does not see."""

    def _allow(request: web.Request, action: str) -> None:
        if version_of(request).at_least("2.36"):
            raise NotFound("The resource could not be found.")
        authorize(request, action)

    async def list_(request: web.Request) -> web.Response:
        _allow(request, list_action)
        found = await listable(request, caller(request), Network, NETWORK_VISIBLE.format(p="$1"))
        return json_response({"networks": [view(n) for n in found]})

    async def show(request: web.Request) -> web.Response:
        _allow(request, show_action)
        wanted = request.match_info["network_id"]
        return json_response(
            {"network": view(await visible_network(request, caller(request), wanted))}
        )

    return [web.get(path, list_), web.get(f"{path}/{{network_id}}", show)]


ROUTES = [
    *proxy(
        "/v2.1/os-networks",
        _network,
        "os_compute_api:os-networks:list",
        "os_compute_api:os-networks:view",
    ),
    *proxy(
        "/v2.1/os-tenant-networks",
        _tenant_network,
        "os_compute_api:os-tenant-networks:list",
        "os_compute_api:os-tenant-networks:show",
    ),
]
