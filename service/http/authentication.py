"""Turning the X-Auth-Token header into the request's AuthContext."""

from aiohttp import web
from aiohttp.typedefs import Handler

from service.auth import AUTH
from service.errors import Unauthorized
from service.identity.access_rules import permits
from service.identity.runtime import IDENTITY_RUNTIME

TOKEN_HEADER = "X-Auth-Token"


@web.middleware
async def authentication_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Validate the token a request carries, if any. An invalid token is treated as no
    token: handlers that need a caller answer 401, public ones answer as usual. So is a
    token whose application credential's access rules do not allow the request."""
    token = request.headers.get(TOKEN_HEADER)
    if token:
        try:
            context = await request.config_dict[IDENTITY_RUNTIME].validate(token)
        except Unauthorized:
            pass
        else:
            rules = context.access_rules
            if rules is None or permits(rules, request.method, request.path):
                request[AUTH] = context
    return await handler(request)
