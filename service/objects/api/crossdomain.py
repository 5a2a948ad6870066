"""`GET /object/crossdomain.xml` without a token: Swift's crossdomain middleware, the
policy that lets Flash and Silverlight pages of other sites use the object API."""

from aiohttp import web

from service.http.keys import SETTINGS

routes = web.RouteTableDef()
_DTD = "http://www.adobe.com/xml/dtds/cross-domain-policy.dtd"


@routes.get("/crossdomain.xml")
async def crossdomain(request: web.Request) -> web.Response:
    """The policy document around KUMO_CROSS_DOMAIN_POLICY's lines."""
    policy = request.config_dict[SETTINGS].cross_domain_policy
    body = (
        '<?xml version="1.0"?>\n'
        f'<!DOCTYPE cross-domain-policy SYSTEM "{_DTD}" >\n'
        f"<cross-domain-policy>\n{policy}\n</cross-domain-policy>"
    )
    return web.Response(text=body, content_type="application/xml")
