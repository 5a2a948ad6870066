"""The Glance v2 HTTP API; paths are relative to the /image prefix."""

from aiohttp import web

from service.image.api import data, images, imports, members, stores, tasks
from service.image.metadefs.api import ROUTES as METADEF_ROUTES

ROUTES: list[web.AbstractRouteDef] = [
    *(
        route
        for module in (images, data, imports, members, stores, tasks)
        for route in module.routes
    ),
    *METADEF_ROUTES,
]
