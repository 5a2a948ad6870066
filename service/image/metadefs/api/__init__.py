"""The metadefs HTTP API: /v2/metadefs/... and /v2/schemas/metadefs/..., relative to the
/image prefix."""

from aiohttp import web

from service.image.metadefs.api import namespaces

ROUTES: list[web.AbstractRouteDef] = [route for module in (namespaces,) for route in module.routes]
