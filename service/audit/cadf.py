"""Audit records as DMTF CADF events, shaped as Keystone's audit notifications are.

A record's CADF `outcome` is `success` (2xx but 202, 3xx), `pending` (202: accepted,
carried out later), `failure` (4xx, 5xx) or `unknown` (the client went away before the
answer, logged as 499), with `reason` {reasonType: HTTP,
reasonCode: the status}. Kumo also sorts each record into a verdict for searching:
the outcome, except that a 401 or 403 to anything but an authentication is `denied`.
"""

from typing import Final

import msgspec

from events.types import RecordedEvent
from service.audit.events import AUTHENTICATE, DENIED, AuditRecorded
from service.events_api.envelope import rfc3339
from service.http.access_log import CLIENT_CLOSED

EVENT_TYPE_URI: Final = "http://schemas.dmtf.org/cloud/audit/1.0/event"
USER_TYPE_URI: Final = "service/security/account/user"
UNKNOWN: Final = "unknown"
"""The initiator id of a caller that gave no valid token and claimed no user."""


# POSTs to these sub-resources change what exists (Nova's server actions, Glance's image
# actions, a password change...): an update, where any other POST to a collection creates.
_UPDATING_POSTS = frozenset(
    {"action", "deactivate", "reactivate", "import", "password", "metadata", "os-extra_specs"}
)
_OBSERVERS = {
    "identity": ("service/security", "data/security"),
    "compute": ("service/compute", "data/compute"),
    "image": ("service/storage/image", "data/image"),
    "object": ("service/storage/object", "data/storage"),
    "network": ("service/network", "data/network"),
    "events": ("service/events", "data/events"),
}
_OTHER = ("service/kumo", "data/kumo")
_TYPE_URIS = {"user": "data/security/account/user", "appcred": "data/security/credential"}


class Host(msgspec.Struct, frozen=True, omit_defaults=True):
    address: str | None = None
    agent: str | None = None


class Reason(msgspec.Struct, frozen=True, rename="camel"):
    reason_type: str
    reason_code: str


_TYPE_URI = {"type_uri": "typeURI"}


class CadfInitiator(msgspec.Struct, frozen=True, omit_defaults=True, rename=_TYPE_URI):
    type_uri: str
    id: str
    name: str | None = None
    project_id: str | None = None
    domain_id: str | None = None
    roles: tuple[str, ...] = ()
    host: Host = Host()


class CadfResource(msgspec.Struct, frozen=True, omit_defaults=True, rename=_TYPE_URI):
    type_uri: str
    id: str
    project_id: str | None = None


_CADF_NAMES = {
    **_TYPE_URI,
    "event_type": "eventType",
    "event_time": "eventTime",
    "request_path": "requestPath",
}


class CadfEvent(msgspec.Struct, frozen=True, rename=_CADF_NAMES):
    """A CADF event (pycadf's field names), plus Kumo's `request_id`, the HTTP `method`
    and the record's `position` in the log."""

    type_uri: str
    id: str
    event_type: str
    event_time: str
    action: str
    outcome: str
    reason: Reason
    initiator: CadfInitiator
    target: CadfResource
    observer: CadfResource
    request_path: str
    method: str
    request_id: str | None
    position: int


def action_of(method: str, route: str | None) -> str:
    """The CADF action of an HTTP call, from its method and matched route pattern (None
    when no route matched): POST creates, except an authentication, a POST to an item
    (Swift's metadata) and the POSTs in _UPDATING_POSTS, which update (qualified by the
    sub-resource's name, `update/deactivate`; Nova's `action` by its handler)."""
    if method == "POST":
        if route is None:
            return "create"
        if route.endswith("/auth/tokens"):
            return AUTHENTICATE
        last = route.rstrip("/").rsplit("/", 1)[-1]
        if last in _UPDATING_POSTS:
            return "update" if last == "action" else f"update/{last}"
        return "update" if "{" in last else "create"
    return {"PUT": "update", "PATCH": "update", "DELETE": "delete", "COPY": "create"}.get(
        method, "read"
    )


def outcome_of(status: int) -> str:
    """The CADF outcome of an HTTP status (see the module docstring)."""
    if status == CLIENT_CLOSED:
        return "unknown"
    if status >= 400:
        return "failure"
    return "pending" if status == 202 else "success"


def verdict(action: str, status: int) -> str:
    """The outcome, or `denied` for a 401/403 to anything but an authentication."""
    if status in (401, 403) and action != AUTHENTICATE:
        return DENIED
    return outcome_of(status)


def target_type_uri(observer: str, target_type: str, action: str) -> str:
    """The CADF typeURI of a target: Keystone's for users and logins, else
    `data/<service area>/<type>`."""
    if action == AUTHENTICATE:
        return USER_TYPE_URI
    if target_type in _TYPE_URIS:
        return _TYPE_URIS[target_type]
    return f"{_OBSERVERS.get(observer, _OTHER)[1]}/{target_type}"


def to_cadf(recorded: RecordedEvent, record: AuditRecorded, owner: str | None) -> CadfEvent:
    """The CADF event of an audit record; `owner` is the target's owning project when
    known (the read model resolves it). Never fails."""
    who = record.initiator
    target = record.target
    return CadfEvent(
        type_uri=EVENT_TYPE_URI,
        id=str(recorded.event_id),
        event_type="activity",
        event_time=rfc3339(recorded.recorded_at),
        action=record.action,
        outcome=record.outcome,
        reason=Reason("HTTP", str(record.status)),
        initiator=CadfInitiator(
            type_uri=USER_TYPE_URI,
            id=who.user_id or UNKNOWN,
            name=who.user_name,
            project_id=who.project_id,
            domain_id=who.domain_id,
            roles=who.roles,
            host=Host(who.address, who.agent),
        ),
        target=CadfResource(
            type_uri=target_type_uri(record.observer, target.type, record.action),
            id=target.id or UNKNOWN,
            project_id=owner,
        ),
        observer=CadfResource(
            type_uri=_OBSERVERS.get(record.observer, _OTHER)[0], id=f"kumo-{record.observer}"
        ),
        request_path=record.path,
        method=record.method,
        request_id=recorded.metadata.request_id,
        position=recorded.position,
    )
