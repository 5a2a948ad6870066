"""`GET /events/v1/audit`: the audit log (service/audit/), searched, paged or exported.

Filters: `since` and `until` (an RFC 3339 time or a log position, both inclusive),
`initiator_user_id`, `initiator_project_id`, `target_type`, `target_id`, `action` (create,
read, update, delete or authenticate, which also match their qualified forms such as
`update/reboot`; or one qualified form), `outcome` (success, pending, failure, unknown,
or denied: a 401/403 to anything but an authentication), `request_id`. Records come in
log order (`sort_dir=desc`: newest first), `limit` at a time (default 100, at most 1000)
after the record named by `marker`, with a `next` link while there may be more.
`Accept: application/jsonl` or `?format=jsonl` streams every matching record instead, one
JSON document a line.

Admins read every record; anyone else, with a project-scoped token, the records whose
initiator's project or target's owning project is the token's project.

rm_audit holds the columns searched and the target's owner; each record found is
rendered as its CADF event from its AuditRecorded event in the log (service/audit/cadf.py).
"""

import uuid
from typing import Any, Final
from urllib.parse import urlencode

import msgspec
from aiohttp import web

from events.postgres import row_to_event
from events.types import Metadata
from service.audit import cadf  # a module: cadf imports this package (its envelope)
from service.audit.events import ACTIONS, VERDICTS, AuditRecorded
from service.auth import AuthContext, caller
from service.errors import BadRequest, Forbidden
from service.events_api.moment import parse_moment
from service.http.body import json_response
from service.http.recording import base_url, store

routes = web.RouteTableDef()

DEFAULT_LIMIT: Final = 100
MAX_LIMIT: Final = 1000
EXPORT_BATCH: Final = 500
JSONL: Final = "application/jsonl"
_EXACT = ("initiator_user_id", "initiator_project_id", "target_type", "target_id", "request_id")


class Links(msgspec.Struct, frozen=True):
    self: str
    next: str | None
    previous: None = None


class Search(msgspec.Struct, frozen=True):
    """A search of rm_audit: its conditions and their arguments, and its order."""

    clauses: list[str]
    args: list[Any]
    descending: bool

    def where(self, *extra: str) -> str:
        return " AND ".join([*self.clauses, *extra]) or "true"

    def after(self, position: int | None) -> tuple[str, list[Any]]:
        """The condition and arguments for the rows past `position` (None: from the start)."""
        if position is None:
            return self.where(), self.args
        past = f"position {'<' if self.descending else '>'} ${len(self.args) + 1}"
        return self.where(past), [*self.args, position]

    @property
    def order(self) -> str:
        return "position DESC" if self.descending else "position"


def search(request: web.Request, auth: AuthContext) -> Search:
    """The caller's search from the query string. Raises BadRequest naming a bad filter,
    Forbidden for a non-admin without a project-scoped token."""
    query = request.query
    clauses: list[str] = []
    args: list[Any] = []

    def add(clause: str, value: Any) -> None:
        args.append(value)
        clauses.append(clause.replace("$", f"${len(args)}"))

    if not auth.is_admin:
        if auth.project_id is None:
            raise Forbidden("The audit log is read with a project-scoped token, or by admins.")
        add("(initiator_project_id = $ OR target_project_id = $)", auth.project_id)
    for name in _EXACT:
        if name in query:
            add(f"{name} = $", query[name])
    if "action" in query:
        action = query["action"]
        _one_of("action", action.partition("/")[0], ACTIONS)
        if "/" in action:
            add("action = $", action)
        else:
            add("(action = $ OR starts_with(action, $ || '/'))", action)
    if "outcome" in query:
        add("verdict = $", _one_of("outcome", query["outcome"], VERDICTS))
    for name, operator in (("since", ">="), ("until", "<=")):
        moment = parse_moment(query.get(name))
        if moment.position is not None:
            add(f"position {operator} $", moment.position)
        elif moment.time is not None:
            add(f"event_time {operator} $", moment.time)
    descending = query.get("sort_dir", "asc")
    if descending not in ("asc", "desc"):
        raise BadRequest(f"Invalid sort_dir: {descending!r}; asc or desc.")
    return Search(clauses, args, descending == "desc")


def _one_of(name: str, value: str, allowed: frozenset[str]) -> str:
    """`value`, if `allowed` holds it, else a 400 naming the choices."""
    if value not in allowed:
        raise BadRequest(f"Invalid {name}: {value!r}; one of {sorted(allowed)}.")
    return value


def _limit(request: web.Request) -> int | None:
    """The `limit` asked for (None: not given); BadRequest unless 1..MAX_LIMIT."""
    text = request.query.get("limit")
    if text is None:
        return None
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise BadRequest(f"Invalid limit: {text!r}; a whole number from 1 to {MAX_LIMIT}.")
    return int(text)


async def _marker(request: web.Request) -> int | None:
    """The position of the record `marker` names (None: no marker); BadRequest if none."""
    text = request.query.get("marker")
    if text is None:
        return None
    try:
        record_id = uuid.UUID(text)
    except ValueError:
        raise BadRequest(f"Invalid marker: {text!r}.") from None
    position: int | None = await store(request).pool.fetchval(
        "SELECT position FROM rm_audit WHERE id = $1", record_id
    )
    if position is None:
        raise BadRequest(f"Marker {text} could not be found.")
    return position


_EVENTS = (
    "SELECT position, stream_id, version, event_id, type, schema_version, recorded_at,"
    " metadata->>'request_id', data FROM events WHERE position = ANY($1::bigint[])"
)
"""The events of a page's records (of the metadata, only the request id, all a document
takes from it). Read apart from the search: joined to it, the search's plans are costed
with the events' lookups, which makes Postgres prefer its generic plan for the statement
(a bitmap of every record of a project, then the first ones sorted: 30-70 ms for a
project with 60,000 records, against ~1 ms reading the log order's index)."""
_encoder = msgspec.json.Encoder()


async def _page(
    wanted: Search, after: int | None, limit: int, request: web.Request
) -> "list[cadf.CadfEvent]":
    """Up to `limit` records past `after`, as CADF events."""
    where, args = wanted.after(after)
    pool = store(request).pool
    found = await pool.fetch(
        f"SELECT position, target_project_id FROM rm_audit WHERE {where}"
        f" ORDER BY {wanted.order} LIMIT ${len(args) + 1}",
        *args,
        limit,
    )
    if not found:
        return []
    events = {row[0]: row for row in await pool.fetch(_EVENTS, [r[0] for r in found])}
    return [_document(events[position], owner) for position, owner in found]


def _document(row: Any, owner: str | None) -> "cadf.CadfEvent":
    """The CADF event of a row of `_EVENTS` whose target `owner` owns."""
    event = row_to_event(row, Metadata(request_id=row[7]))
    record = event.event
    assert isinstance(record, AuditRecorded)
    return cadf.to_cadf(event, record, owner)


def _exporting(request: web.Request) -> bool:
    return request.query.get("format") == "jsonl" or JSONL in request.headers.get("Accept", "")


@routes.get("/v1/audit")
async def audit(request: web.Request) -> web.StreamResponse:
    """200 with `{"records": [CADF events], "links": {"self", "next", "previous"}}`, or
    the JSON-lines export (see the module docstring). 400 for a bad filter, limit or
    marker; 401 without a valid token; 403 for a non-admin without a project scope."""
    auth = caller(request)
    wanted = search(request, auth)
    limit = _limit(request)
    after = await _marker(request)
    if _exporting(request):
        return await _export(request, wanted, after, limit)
    page = limit or DEFAULT_LIMIT
    records = await _page(wanted, after, page + 1, request)
    here = f"{base_url(request)}{request.path}"
    params = {k: v for k, v in request.query.items() if k != "marker"}
    following = None
    if len(records) > page:
        records = records[:page]
        following = f"{here}?{urlencode({**params, 'marker': records[-1].id})}"
    own = f"{here}?{urlencode(request.query)}" if request.query else here
    links = Links(self=own, next=following)
    return json_response({"records": records, "links": links})


async def _export(
    request: web.Request, wanted: Search, after: int | None, limit: int | None
) -> web.StreamResponse:
    """Every matching record (at most `limit`), a line each, read in batches so that
    neither the response nor a database transaction holds them all."""
    response = web.StreamResponse(headers={"Content-Type": JSONL})
    await response.prepare(request)
    left = limit
    while left is None or left > 0:
        batch = EXPORT_BATCH if left is None else min(left, EXPORT_BATCH)
        records = await _page(wanted, after, batch, request)
        if records:
            await response.write(b"".join(_encoder.encode(r) + b"\n" for r in records))
            after = records[-1].position
        if left is not None:
            left -= len(records)
        if len(records) < batch:
            break
    await response.write_eof()
    return response
