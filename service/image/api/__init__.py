"""The Glance v2 HTTP API; paths are relative to the /image prefix."""

from aiohttp import web

from service.image.api import data, images, imports, members, tasks
from service.image.metadefs.api import ROUTES as METADEF_ROUTES

ROUTES: list[web.AbstractRouteDef] = [
    *(route for module in (images, data, imports, members, tasks) for route in module.routes),
    *METADEF_ROUTES,
]
