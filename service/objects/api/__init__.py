"""The Swift v1 HTTP API, relative to the /object prefix, one module per resource."""

from aiohttp import web

from service.objects.api import (
    account,
    container,
    crossdomain,
    healthcheck,
    info,
    object,
    reading,
)


def _longest_first(route: web.RouteDef) -> tuple[int, str]:
    return -len(route.path), route.path


ROUTES: list[web.RouteDef] = sorted(
    (
        route
        for module in (info, healthcheck, crossdomain, account, container, reading, object)
        for route in module.routes
        if isinstance(route, web.RouteDef)
    ),
    key=_longest_first,
)
"""The routes of each path together (aiohttp makes them one resource), the object's path
first: a request tries each resource's pattern in turn (16 before an object's when each
route was one). No two of these patterns match the same path, so the order is free."""
