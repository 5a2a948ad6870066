"""One middleware that turns every error into the fault body of the request's API.

Typed ApiErrors, aiohttp's own HTTP errors (unknown path, wrong method, body too
large) and the event store's WrongExpectedVersion are rendered as the service the
path belongs to would render them; a client that went away mid-answer is noted in one
line (nobody is left to answer); anything else is logged with its traceback and
answered 500 without internal detail.
"""

import html
import logging
from xml.sax.saxutils import escape

import msgspec
from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from events.errors import WrongExpectedVersion
from service.errors import ApiError, Conflict, InternalServerError, error_for_status
from service.http.api import FaultStyle, api_of
from service.http.body import json_response
from service.http.keys import REQUEST_ID

log = logging.getLogger("kumo.http")
CLIENT_WENT_AWAY = 499
"""The status an answer nobody received is logged with (nginx's "client closed request")."""

# nova/api/openstack/wsgi.py Fault._fault_names; any other status is a computeFault.
_NOVA_FAULT_NAMES = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    409: "conflictingRequest",
    413: "overLimit",
    415: "badMediaType",
    429: "overLimit",
    501: "notImplemented",
    503: "serviceUnavailable",
}


# The S3 status and code of an error an S3 handler met in what it shares with Swift.
_S3_CODES = {
    400: (400, "InvalidArgument"),
    401: (403, "AccessDenied"),
    403: (403, "AccessDenied"),
    404: (404, "NoSuchKey"),
    405: (405, "MethodNotAllowed"),
    409: (409, "OperationAborted"),
    411: (411, "MissingContentLength"),
    412: (412, "PreconditionFailed"),
    413: (400, "EntityTooLarge"),
    416: (416, "InvalidRange"),
    422: (400, "BadDigest"),
    501: (501, "NotImplemented"),
    503: (503, "ServiceUnavailable"),
}


class KeystoneError(msgspec.Struct, frozen=True):
    code: int
    title: str
    message: str


class KeystoneFault(msgspec.Struct, frozen=True):
    error: KeystoneError


class NovaError(msgspec.Struct, frozen=True):
    code: int
    message: str


class NeutronError(msgspec.Struct, frozen=True):
    type: str
    message: str
    detail: str = ""


class NeutronFault(msgspec.Struct, frozen=True, rename={"error": "NeutronError"}):
    error: NeutronError


def render_fault(error: ApiError, style: FaultStyle, request_id: str = "") -> web.Response:
    """The response an OpenStack service (or S3) of `style` gives for `error`."""
    code, title, message = error.code, error.title, error.message
    match style:
        case FaultStyle.KEYSTONE:
            fault = KeystoneFault(KeystoneError(code, title, message))
            return json_response(fault, status=code, headers=error.headers)
        case FaultStyle.NOVA:
            name = _NOVA_FAULT_NAMES.get(code, "computeFault")
            return json_response(
                {name: NovaError(code, message)}, status=code, headers=error.headers
            )
        case FaultStyle.NEUTRON:
            kind = error.neutron_type or "HTTP" + title.replace(" ", "")
            neutron = NeutronFault(NeutronError(kind, message))
            return json_response(neutron, status=code, headers=error.headers)
        case FaultStyle.GLANCE:
            # webob's plain-text error page, which Glance sends.
            text = f"{code} {title}\n\n{message}\n\n   "
            return web.Response(text=text, status=code, headers=error.headers)
        case FaultStyle.SWIFT:
            # swob's default error body.
            page = f"<html><h1>{html.escape(title)}</h1><p>{html.escape(message)}</p></html>"
            return web.Response(
                text=page, status=code, headers=error.headers, content_type="text/html"
            )
        case FaultStyle.S3:
            status, name = _S3_CODES.get(code, (500, "InternalError"))
            if error.s3_code is not None:
                status, name = code, error.s3_code
            body = (
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                f"<Error><Code>{name}</Code><Message>{escape(message)}</Message>"
                f"<RequestId>{escape(request_id)}</RequestId></Error>"
            )
            return web.Response(
                text=body, status=status, headers=error.headers, content_type="application/xml"
            )


def _from_http_exception(exc: web.HTTPException) -> ApiError:
    """The ApiError for one of aiohttp's HTTP errors, keeping headers such as Allow."""
    headers = {
        k: v for k, v in exc.headers.items() if k not in (hdrs.CONTENT_TYPE, hdrs.CONTENT_LENGTH)
    }
    # aiohttp's default text is "404: Not Found"; a specific one (413's sizes) is kept.
    specific = exc.text if exc.text and not exc.text.startswith(f"{exc.status}: ") else None
    return error_for_status(exc.status, specific, headers=headers)


def _client_gone(request: web.Request) -> bool:
    """Whether the request's connection is closed or closing (a ConnectionError then is
    the client's, not a backend's)."""
    return request.transport is None or request.transport.is_closing()


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer every failure of `handler` with the fault body of the request's API."""
    try:
        return await handler(request)
    except ApiError as error:
        fault = error
    except web.HTTPException as exc:
        if exc.status < 400:
            return web.Response(status=exc.status, headers=exc.headers, body=exc.body)
        fault = _from_http_exception(exc)
    except WrongExpectedVersion as error:
        log.info("concurrent update: %s", error)
        fault = Conflict("The resource was changed by another request; retry the request.")
    except Exception as error:
        if isinstance(error, ConnectionError) and _client_gone(request):
            log.info("client went away during %s %s: %s", request.method, request.path, error)
            return web.Response(status=CLIENT_WENT_AWAY)
        log.exception("unhandled error in %s %s", request.method, request.path)
        fault = InternalServerError()
    return render_fault(fault, api_of(request).fault_style, request.get(REQUEST_ID, ""))
