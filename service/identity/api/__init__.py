"""The Keystone v3 HTTP API, one module per resource family."""

from aiohttp import web

from service.identity.api import (
    access_rules,
    application_credentials,
    assignments,
    catalog,
    credentials,
    domains,
    ec2_credentials,
    endpoint_filter,
    groups,
    limits,
    oauth1,
    policies,
    projects,
    roles,
    tokens,
    trusts,
    users,
)

ROUTES: list[web.AbstractRouteDef] = [
    route
    for module in (
        tokens,
        domains,
        projects,
        users,
        groups,
        roles,
        assignments,
        catalog,
        endpoint_filter,
        application_credentials,
        access_rules,
        credentials,
        ec2_credentials,
        limits,
        policies,
        trusts,
        oauth1,
    )
    for route in module.routes
]
