"""/v2.0/: the resources of Neutron's API v2.0, and /v2.0/extensions: the API extensions
Kumo serves, which clients check before using an attribute or resource."""

from aiohttp import web

from service.errors import NotFound
from service.http.body import json_response
from service.http.recording import base_url
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
    "subnet-external-network": "Subnet External Network",
    "router": "Neutron L3 Router",
    "ext-gw-mode": "Neutron L3 Configurable external gateway mode",
    "extraroute": "Neutron Extra Route",
}
"""Alias: name."""


RESOURCES = (
    ("network", "networks"),
    ("subnet", "subnets"),
    ("port", "ports"),
    ("security_group", "security-groups"),
    ("security_group_rule", "security-group-rules"),
    ("floatingip", "floatingips"),
    ("router", "routers"),
    ("quota", "quotas"),
)


@ROUTES.get("/v2.0")
@ROUTES.get("/v2.0/")
async def show_resources(request: web.Request) -> web.Response:
    """The API's collections, as Neutron's version document lists them."""
    base = f"{base_url(request)}/network/v2.0"
    resources = [
        {"name": name, "collection": path, "links": [{"rel": "self", "href": f"{base}/{path}"}]}
        for name, path in RESOURCES
    ]
    return json_response({"resources": resources})


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
