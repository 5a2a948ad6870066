"""The audit middleware: after a request was answered, one AuditRecorded event for each
call that changes something (POST, PUT, PATCH, DELETE, COPY), whatever its outcome, and
for each 401 or 403 of any method. GET, HEAD and OPTIONS are otherwise not audited.

It costs one append per audited request, on its own `audit-<request id>` stream, after
the handler's own appends (so a crash between the two loses the audit record of a change
the log already holds, with its actor and request id in the change's metadata). An
append that fails is logged at ERROR with the whole record, and the response goes out
unchanged. A handler whose answer is certain once its last append commits may put the
record into that append instead (service/audit/joining.py): one round trip and one
commit fewer.

The source address is the TCP peer (`request.remote`), unless the peer is one of the
reverse proxies KUMO_TRUSTED_PROXIES names: then X-Forwarded-For is read from the
right, and the first hop that is not a trusted proxy is the client. A call the
dashboard forwards to this process's own APIs carries its browser's address (see
service/http/forwarding.py).
"""

import logging
from collections.abc import Sequence
from typing import Final

import msgspec
from aiohttp import web
from aiohttp.typedefs import Handler

from events.store import StreamAppend
from service.audit.cadf import action_of, outcome_of
from service.audit.claim import CLAIMED, initiator_of
from service.audit.events import AUTHENTICATE, AuditRecorded, Initiator, Target
from service.audit.joining import JOINED, OFFER
from service.audit.targets import path_target
from service.auth import AUTH
from service.events_api.envelope import resource_of
from service.http.access_log import CLIENT_CLOSED
from service.http.api import api_of
from service.http.forwarding import FORWARDED, forwarded_by_this_process
from service.http.keys import AUDIT_ACTION, REQUEST_ID, SETTINGS, STORE
from service.http.recording import APPENDED
from service.http.request_id import event_metadata

log = logging.getLogger("kumo.audit")

AUDITED_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE", "COPY"})
DENIALS: Final = frozenset({401, 403})
MAX_TEXT: Final = 1024
"""Longest path or user agent kept; a client chooses both."""


def audited(request: web.Request, status: int) -> bool:
    """Whether a call with this method and final status is recorded. One the dashboard
    passed on to an API is not: the API call it became is, with the browser's address."""
    if request.get(FORWARDED):
        return False
    return request.method in AUDITED_METHODS or status in DENIALS


@web.middleware
async def audit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Record the request once it is answered (or abandoned), if `audited` says so.
    Must run inside the request-id middleware and outside the error middleware, so that
    every failure has become its response status."""
    status = CLIENT_CLOSED
    request[OFFER] = _offer
    try:
        response = await handler(request)
        status = response.status
        return response
    finally:
        if JOINED in request:
            if request[JOINED] != status:
                log.error(
                    "answered otherwise than its committed audit record says",
                    extra={"recorded": request[JOINED], "status": status},
                )
        elif audited(request, status):
            await _record(request, status)


def _offer(
    request: web.Request, status: int, appends: Sequence[StreamAppend]
) -> StreamAppend | None:
    """The record for answering `status` as an append joining `appends` (see
    service/audit/joining.py), built before it commits: its target is named by them or
    what the request appended before, else by the path."""
    if not audited(request, status):
        return None
    streams = [a.stream_id for a in appends]
    return StreamAppend(_stream(request), [audit_record(request, status, streams)])


def _stream(request: web.Request) -> str:
    return f"audit-{request[REQUEST_ID]}"


def audit_record(request: web.Request, status: int, joining: Sequence[str] = ()) -> AuditRecorded:
    """The audit record of an answered request (`joining`: the streams of the append it
    is to join)."""
    route = request.match_info.route.resource
    pattern = route.canonical if route is not None else None
    action = action_of(request.method, pattern)
    initiator = _initiator(request, action)
    if AUDIT_ACTION in request:
        action = f"{action}/{request[AUDIT_ACTION]}"
    return AuditRecorded(
        action=action,
        outcome=outcome_of(status),
        status=status,
        observer=api_of(request).name,
        method=request.method,
        path=request.path[:MAX_TEXT],
        initiator=msgspec.structs.replace(
            initiator,
            address=source_address(request),
            agent=request.headers.get("User-Agent", "")[:MAX_TEXT] or None,
        ),
        target=_target(request, action, initiator, pattern, joining),
    )


def source_address(request: web.Request) -> str | None:
    """Where the request came from (see the module docstring)."""
    trusted = request.config_dict[SETTINGS].trusted_proxy_addresses
    address = request.remote
    if forwarded_by_this_process(request):
        return request.headers.get("X-Forwarded-For", address)
    if address not in trusted:
        return address
    forwarded = ",".join(request.headers.getall("X-Forwarded-For", ()))
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if hop not in trusted:
            return hop[:MAX_TEXT]
    return hops[0][:MAX_TEXT] if hops else address


def _initiator(request: web.Request, action: str) -> Initiator:
    if action == AUTHENTICATE or AUTH not in request:
        return request.get(CLAIMED) or Initiator()
    return initiator_of(request[AUTH])


def _target(
    request: web.Request,
    action: str,
    initiator: Initiator,
    pattern: str | None,
    joining: Sequence[str] = (),
) -> Target:
    """The resource acted on: the stream the request appended to whose category its path
    names (a server's create also appends its ports), else the first stream it appended
    to, else what its path names. The path's project, where it names one (Swift's
    account), owns the resource the path names, so its audit row needs no lookup."""
    if action == AUTHENTICATE:
        return Target(type="user", id=initiator.user_id)
    api = api_of(request)
    named = path_target(api.name, api.prefix, request.path, pattern, request.match_info)
    streams = [*(e.stream_id for e in request.get(APPENDED, ())), *joining]
    appended = [resource_of(stream_id) for stream_id in streams]
    for category, resource_id in appended:
        if category == named.type:
            owner = named.project_id if resource_id == named.id else None
            return Target(type=category, id=resource_id, project_id=owner)
    if appended:
        return Target(type=appended[0][0], id=appended[0][1])
    return named


async def _record(request: web.Request, status: int) -> None:
    """Append the request's audit record; a failure is logged (with the record when it
    could be built), never raised over the response."""
    stream = _stream(request)
    record: AuditRecorded | None = None
    try:
        record = audit_record(request, status)
        await request.config_dict[STORE].append(stream, [record], metadata=event_metadata(request))
    except Exception:
        written = "" if record is None else msgspec.json.encode(record).decode()
        log.exception("audit record not written", extra={"stream": stream, "record": written})
