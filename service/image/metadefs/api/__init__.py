"""The metadefs HTTP API: /v2/metadefs/... and /v2/schemas/metadefs/..., relative to the
/image prefix."""

from aiohttp import web

from service.image.metadefs.api import namespaces, objects, properties, resource_types, tags

ROUTES: list[web.AbstractRouteDef] = [
    route
    for module in (namespaces, objects, properties, tags, resource_types)
    for route in module.routes
]
