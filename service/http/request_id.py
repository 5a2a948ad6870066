"""Request ids: taken from `x-openstack-request-id` when valid, else new; echoed back."""

import re

from aiohttp import web
from aiohttp.typedefs import Handler

from events.types import Metadata
from service.auth import AUTH
from service.http.api import OPENSTACK_REQUEST_ID, api_of
from service.http.keys import IDS, REQUEST_ID
from service.logs import current_request_id

_VALID = re.compile(r"req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give the request its id (request[REQUEST_ID] and the logs' context) while it runs."""
    given = request.headers.get(OPENSTACK_REQUEST_ID, "")
    if _VALID.fullmatch(given):
        request_id = given
    else:
        request_id = f"req-{request.config_dict[IDS].new_id()}"
    request[REQUEST_ID] = request_id
    token = current_request_id.set(request_id)
    try:
        return await handler(request)
    finally:
        current_request_id.reset(token)


async def echo_request_id(request: web.BaseRequest, response: web.StreamResponse) -> None:
    """on_response_prepare hook: put the request id in the API's request-id headers."""
    request_id = request.get(REQUEST_ID)
    if request_id is not None and isinstance(request, web.Request):
        for header in api_of(request).request_id_headers:
            response.headers[header] = request_id


def event_metadata(request: web.Request) -> Metadata:
    """Metadata for events a request appends: who asked (when authenticated) and the
    request's id, which also correlates what follows.

    Raises KeyError when the request-id middleware has not run.
    """
    request_id = request[REQUEST_ID]
    if AUTH in request:
        actor = request[AUTH].actor()
        return Metadata(actor=actor, request_id=request_id, correlation_id=request_id)
    return Metadata(request_id=request_id, correlation_id=request_id)
