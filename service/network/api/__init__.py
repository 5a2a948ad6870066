"""The Neutron v2.0 HTTP API at /network/v2.0, one module per resource family."""

from aiohttp import web

from service.network.api import (
    extensions,
    floating_ips,
    networks,
    ports,
    quotas,
    router_interfaces,
    routers,
    security_groups,
    subnets,
)

ROUTES: list[web.AbstractRouteDef] = [
    route
    for module in (
        networks,
        subnets,
        ports,
        security_groups,
        floating_ips,
        routers,
        router_interfaces,
        quotas,
        extensions,
    )
    for route in module.ROUTES
]
