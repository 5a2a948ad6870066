"""The Nova v2.1 HTTP API, one module per resource family."""

from aiohttp import web

from service.compute.api import (
    actions,
    aggregates,
    availability_zones,
    diagnostics,
    extensions,
    external_events,
    flavors,
    hosts,
    hypervisors,
    images,
    interfaces,
    keypairs,
    migrations,
    networks,
    quotas,
    security_groups,
    server_extras,
    server_groups,
    servers,
    services,
    tenant_usage,
    usage_audit,
)

ROUTES: list[web.AbstractRouteDef] = [
    route
    for module in (
        servers,
        actions,
        server_extras,
        interfaces,
        flavors,
        keypairs,
        quotas,
        availability_zones,
        hypervisors,
        hosts,
        services,
        security_groups,
        server_groups,
        external_events,
        diagnostics,
        tenant_usage,
        extensions,
        usage_audit,
        aggregates,
        images,
        networks,
        migrations,
    )
    for route in module.ROUTES
]
