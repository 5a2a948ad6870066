"""/v2.0/extensions: the Neutron API extensions Kumo serves, which clients check before
using an attribute or resource."""

from aiohttp import web

from service.errors import NotFound
from service.http.body import json_response
from service.network.policy_rules import authorize

ROUTES = web.RouteTableDef()

EXTENSIONS: dict[str, str] = {
    "security-group": "Security groups",
    "quotas": "Quota management support",
    "quota_details": "Quota details management support",
    "external-net": "Neutron external network",
    "net-mtu": "Network MTU",
    "port-security": "Port Security",
    "binding": "Port Binding",
    "standard-attr-description": "standard-attr-description",
    "standard-attr-revisions": "Resource revision numbers",
    "standard-attr-timestamp": "Resource timestamps",
    "project-id": "project_id field enabled",
    "pagination": "Pagination support",
    "sorting": "Sorting support",
    "fip-port-details": "Floating IP Port Details Extension",
    "ip-substring-filtering": "IP address substring filtering",
}
"""Alias: name."""


def _extension(alias: str) -> dict[str, object]:
    return {
        "alias": alias,
        "name": EXTENSIONS[alias],
        "description": EXTENSIONS[alias],
        "updated": "2013-01-01T00:00:00-00:00",
        "links": [],
    }


@ROUTES.get("/v2.0/extensions")
async def list_extensions(request: web.Request) -> web.Response:
    authorize(request, "get_network")
    return json_response({"extensions": [_extension(alias) for alias in EXTENSIONS]})


@ROUTES.get("/v2.0/extensions/{alias}")
async def show_extension(request: web.Request) -> web.Response:
    authorize(request, "get_network")
    alias = request.match_info["alias"]
    if alias not in EXTENSIONS:
        raise NotFound(f"Extension with alias {alias} does not exist")
    return json_response({"extension": _extension(alias)})
