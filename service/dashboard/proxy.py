"""`/dashboard/api/<service>/<path>`: the page's calls to Kumo's real APIs.

The call is forwarded to the service's own handler with the session's token as
X-Auth-Token, so the page can do exactly what its user may do through the API, no more.
Every call that is not a GET or HEAD must carry the session's CSRF token. Bodies stream
both ways (uploads, downloads, the SSE event stream); the answer is the API's own, less
any token header. A session that has ended answers 401 with a message, and the page
sends its user to the login form.
"""

from aiohttp import web

from service.audit.middleware import source_address
from service.auth import AUTH
from service.dashboard.session import CSRF_HEADER, ENDED, csrf_ok, signed_in
from service.dashboard.upstream import UPSTREAM, base_url
from service.errors import Forbidden, NotFound, Unauthorized
from service.http.api import COMPUTE, EVENTS, IDENTITY, IMAGE, NETWORK, OBJECT
from service.http.forwarding import FORWARDED, PROOF_HEADER, forwarding_headers

routes = web.RouteTableDef()

PREFIXES = {api.name: api.prefix for api in (IDENTITY, COMPUTE, IMAGE, OBJECT, NETWORK, EVENTS)}
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer"}
    | {"transfer-encoding", "upgrade", "host"}
)
NOT_FORWARDED = HOP_BY_HOP | {"cookie", "x-auth-token", "x-subject-token", CSRF_HEADER.lower()}
NOT_FORWARDED |= {"x-forwarded-for", PROOF_HEADER.lower()}
NOT_RETURNED = HOP_BY_HOP | {"set-cookie", "x-auth-token", "x-subject-token"}
ENDED_HEADER = {"X-Dashboard-Session": "ended"}
"""Marks the proxy's own 401s, apart from an API's (e.g. a Swift ACL refusing)."""


@routes.route("*", r"/api/{service:[a-z]+}{path:(/.*)?}")
async def pass_through(request: web.Request) -> web.StreamResponse:
    """The API's answer to the same call made with the session's token. 401 without a
    live session, 403 without the CSRF token, 404 for a service that does not exist."""
    current = await signed_in(request)
    if current is None:
        raise Unauthorized(ENDED, headers=ENDED_HEADER)
    session, request[AUTH] = current
    if not csrf_ok(request, session):
        raise Forbidden("The page's security token is missing or stale; reload the page.")
    service = request.match_info["service"]
    prefix = PREFIXES.get(service)
    if prefix is None:
        raise NotFound(f"There is no API named {service}.")
    tail = request.raw_path[len(f"/dashboard/api/{service}") :]
    headers = {k: v for k, v in request.headers.items() if k.lower() not in NOT_FORWARDED}
    headers["X-Auth-Token"] = session.token
    headers.update(forwarding_headers(source_address(request)))
    request[FORWARDED] = True
    client = request.config_dict[UPSTREAM]
    async with client.request(
        request.method,
        base_url(request) + prefix + tail,
        headers=headers,
        data=request.content if request.body_exists else None,
        allow_redirects=False,
    ) as answer:
        if answer.status == 401 and await signed_in(request) is None:
            raise Unauthorized(ENDED, headers=ENDED_HEADER)
        response = web.StreamResponse(status=answer.status, reason=answer.reason)
        for name, value in answer.headers.items():
            if name.lower() not in NOT_RETURNED:
                response.headers.add(name, value)
        try:
            await response.prepare(request)
            async for chunk in answer.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
        except ConnectionResetError:
            pass  # the browser left (a page closed while its event stream ran): nothing to say
    return response
