"""`GET /events/v1/usage?project=&from=&to=`: what a project used over a period, counted
from the events alone (the basis for billing).

Each resource's stream is folded event by event with its service's own fold
(service/*/fold.py); between two events the resource stays in the state the first
left it in, and the time that state overlaps the period counts:

- A server counts **instance-hours** and **disk GB-hours** (its flavor's root plus
  ephemeral disk) while its vm state is one of HOSTED_STATES: from its first ACTIVE
  until it is deleted, stopped, suspended and shelved (not offloaded) included, since its
  disks stay on the host; it counts **vCPU-hours** and **RAM GB-hours** (flavor RAM
  MiB / 1024) only while in RUNNING_STATES, when the guest holds its CPUs and memory.
  Building, ERROR, shelved-offloaded and deleted servers count nothing. A resize counts
  the new flavor from the event that changes it.
- An image owned by the project counts **GB-hours** (size / 2^30) while it holds data:
  `active` or `deactivated`, until deleted.
- Each object counts **GB-hours** while it is the current version, until deleted (an
  expired object until the reaper deletes it), summed by container.

Members read their own project's usage; admins any project's (a member asking for
another project gets 403).
"""

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime

import msgspec
from aiohttp import web

from events.clock import Clock, SystemClock
from events.types import RecordedEvent
from projections.rows import Evolve, Row
from service.auth import caller
from service.compute import fold as compute
from service.errors import BadRequest, Forbidden
from service.events_api.envelope import rfc3339
from service.events_api.moment import Moment, parse_moment
from service.events_api.related import streams_where
from service.http.body import json_response
from service.http.recording import store
from service.image import fold as image
from service.objects import fold as objects

routes = web.RouteTableDef()

USAGE_CLOCK = web.AppKey("usage_clock", Clock)
"""What `to` defaults to: now by this clock (the system's unless set on the root app)."""
_SYSTEM = SystemClock()

RUNNING_STATES = frozenset({"active", "paused", "rescued", "resized"})
HOSTED_STATES = RUNNING_STATES | {"stopped", "suspended", "shelved"}
IMAGE_STATES = frozenset({"active", "deactivated"})
GIB = 2**30


class ServerUsage(msgspec.Struct):
    id: str
    name: str = ""
    flavor_id: str = ""
    instance_hours: float = 0.0
    vcpu_hours: float = 0.0
    ram_gb_hours: float = 0.0
    disk_gb_hours: float = 0.0


class ImageUsage(msgspec.Struct):
    id: str
    name: str | None = None
    gb_hours: float = 0.0


class ContainerUsage(msgspec.Struct):
    name: str
    gb_hours: float = 0.0


class Totals(msgspec.Struct):
    instance_hours: float
    vcpu_hours: float
    ram_gb_hours: float
    disk_gb_hours: float
    image_gb_hours: float
    object_gb_hours: float


class Usage(msgspec.Struct):
    project_id: str
    start: str = msgspec.field(name="from")
    end: str = msgspec.field(name="to")
    servers: list[ServerUsage] = []
    images: list[ImageUsage] = []
    containers: list[ContainerUsage] = []
    totals: Totals | None = None


class Period(msgspec.Struct, frozen=True):
    start: datetime
    end: datetime

    def hours(self, since: datetime, until: datetime) -> float:
        """Hours of [since, until) inside the period."""
        seconds = (min(until, self.end) - max(since, self.start)).total_seconds()
        return max(seconds, 0.0) / 3600


def spans(
    evolve: Evolve, events: Sequence[RecordedEvent], period: Period
) -> Iterator[tuple[Row, float]]:
    """Each row the stream's resource had and the hours of the period it had it for (the
    last one holds on after the events; no row, as after a deletion, counts nothing)."""
    row: Row | None = None
    for recorded, following in zip(events, [*events[1:], None], strict=True):
        row = evolve(row, recorded)
        until = period.end if following is None else following.recorded_at
        if row is not None:
            yield row, period.hours(recorded.recorded_at, until)


def server_usage(events: Sequence[RecordedEvent], period: Period) -> ServerUsage:
    """One server's usage over the period (see the module's rule)."""
    used = ServerUsage(id=events[0].stream_id.removeprefix("server-"))
    for row, hours in spans(compute.server, events, period):
        flavor = row["flavor"]
        used.name, used.flavor_id = row["name"], flavor["id"]
        if row["vm_state"] in HOSTED_STATES:
            used.instance_hours += hours
            used.disk_gb_hours += hours * (flavor["disk"] + flavor.get("ephemeral", 0))
        if row["vm_state"] in RUNNING_STATES:
            used.vcpu_hours += hours * flavor["vcpus"]
            used.ram_gb_hours += hours * flavor["ram"] / 1024
    return used


def image_usage(events: Sequence[RecordedEvent], period: Period, project: str) -> ImageUsage:
    """One image's usage over the period while `project` owned it."""
    used = ImageUsage(id=events[0].stream_id.removeprefix("image-"))
    for row, hours in spans(image.image, events, period):
        used.name = row["name"]
        if row["owner"] == project and row["status"] in IMAGE_STATES and row["size"]:
            used.gb_hours += hours * row["size"] / GIB
    return used


def object_usage(events: Sequence[RecordedEvent], period: Period) -> ContainerUsage:
    """One object's usage over the period, its noncurrent versions' too, named by its
    container."""
    used = ContainerUsage(name="")
    for state, hours in spans(objects.versions, events, period):
        for row in filter(None, (state["current"], *objects.kept_rows(state))):
            used.name = row["container"]
            used.gb_hours += hours * row["size"] / GIB
    return used


def _total(items: Sequence[msgspec.Struct], field: str) -> float:
    return float(sum(getattr(item, field) for item in items))


async def usage_of(request: web.Request, project: str, period: Period) -> Usage:
    """The project's usage over the period, from its servers', images' and objects'
    streams as they were at the period's end."""
    moment = Moment(time=period.end)

    async def streams(where: str) -> list[list[RecordedEvent]]:
        return await streams_where(store(request), moment, where, project)

    servers = [
        used
        for e in await streams("type = 'ServerCreateRequested' AND data->>'project_id' = $1")
        if (used := server_usage(e, period)).instance_hours  # RUNNING is within HOSTED
    ]
    images = [
        owned
        for e in await streams("category = 'image' AND data->>'owner' = $1")
        if (owned := image_usage(e, period, project)).gb_hours
    ]
    by_container: dict[str, float] = {}
    for e in await streams("type = 'ObjectStored' AND data->>'project_id' = $1"):
        held = object_usage(e, period)
        by_container[held.name] = by_container.get(held.name, 0.0) + held.gb_hours
    containers = [ContainerUsage(n, h) for n, h in sorted(by_container.items()) if h]
    totals = Totals(
        instance_hours=_total(servers, "instance_hours"),
        vcpu_hours=_total(servers, "vcpu_hours"),
        ram_gb_hours=_total(servers, "ram_gb_hours"),
        disk_gb_hours=_total(servers, "disk_gb_hours"),
        image_gb_hours=_total(images, "gb_hours"),
        object_gb_hours=_total(containers, "gb_hours"),
    )
    return Usage(
        project, rfc3339(period.start), rfc3339(period.end), servers, images, containers, totals
    )


def _time(text: str | None, name: str, default: Callable[[], datetime]) -> datetime:
    """The RFC 3339 time of a query parameter; `default()` when absent. Raises BadRequest."""
    if text is None:
        return default()
    moment = parse_moment(text)
    if moment.time is None:
        raise BadRequest(f"Invalid value for {name}: {text!r}; give an RFC 3339 time.")
    return moment.time


@routes.get("/v1/usage")
async def usage(request: web.Request) -> web.Response:
    """200 with `{"usage": ...}` for `project` (default: the caller's) from `from`
    (default: the start of `to`'s month, UTC) to `to` (default: now). 400 for a bad
    time or an empty period, 403 when a member asks for another project's usage."""
    auth = caller(request)
    project = request.query.get("project") or auth.project_id
    if project is None:
        raise BadRequest("Name a project: the token is not scoped to one.")
    if project != auth.project_id and not auth.is_admin:
        raise Forbidden("Only admins may read the usage of another project.")
    end = _time(request.query.get("to"), "to", request.config_dict.get(USAGE_CLOCK, _SYSTEM).now)
    month = end.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    start = _time(request.query.get("from"), "from", lambda: month)
    if start >= end:
        raise BadRequest("The period is empty: from must be before to.")
    return json_response({"usage": await usage_of(request, project, Period(start, end))})
