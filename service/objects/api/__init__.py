"""The Swift v1 HTTP API, relative to the /object prefix, one module per resource."""

from aiohttp import web

from service.objects.api import account, container, info, object, reading

ROUTES: list[web.AbstractRouteDef] = [
    route for module in (info, account, container, reading, object) for route in module.routes
]
