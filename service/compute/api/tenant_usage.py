"""/v2.1/os-simple-tenant-usage: what projects' servers used over a period (server hours,
and vCPU, RAM and disk hours), as Horizon's overview reads it. A server counts from its
launch (its ServerActive) to its deletion (its ServerDeleted), or to the period's end,
with its flavor, as Nova counts; rm_servers keeps both times, deleted servers included.
All projects' usage for admins, one project's for its readers."""

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from aiohttp import web

from events.clock import SystemClock
from service.compute.api import paging
from service.compute.api.microversion import version_of
from service.compute.directory import Server, select
from service.compute.policy_rules import authorize
from service.compute.server_view import usage_time
from service.errors import BadRequest
from service.http.body import json_response
from service.http.recording import store

ROUTES = web.RouteTableDef()

FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M:%S.%f")
"""The forms of `start` and `end` Nova reads (UTC)."""


class Period(msgspec.Struct, frozen=True):
    start: datetime
    stop: datetime

    def hours(self, server: Server) -> float:
        """The hours of the period the server ran in (launched, not yet deleted)."""
        assert server.launched_at is not None
        begin = max(server.launched_at, self.start)
        end = min(server.terminated_at or self.stop, self.stop)
        return max((end - begin) / timedelta(hours=1), 0.0)


def _moment(request: web.Request, name: str, now: datetime) -> datetime:
    text = request.query.get(name)
    if not text:
        return now
    for form in FORMATS:
        try:
            return datetime.strptime(text, form).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise BadRequest(f"Invalid {name} time {text!r}: the datetime is in an invalid format.")


def _period(request: web.Request) -> Period:
    """The period asked for (`start`, `end`; now if absent), its end no later than now;
    BadRequest if a time is garbled or the start is not before the end."""
    now = SystemClock().now()
    start, stop = _moment(request, "start", now), _moment(request, "end", now)
    if not start < stop:
        raise BadRequest("Invalid start time. The start time cannot occur after the end time.")
    return Period(start, min(stop, now))


async def _usages(
    request: web.Request, period: Period, project_id: str | None, *, detailed: bool
) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Each project's usage over the period (of `project_id` only if given), with its
    servers' if `detailed`, counting one page of servers (`limit`, `marker` from 2.40;
    at most 1000 before); and from 2.40 the link to the next page if this one is full."""
    where = "launched_at IS NOT NULL AND launched_at <= $1 AND coalesce(terminated_at, $1) >= $2"
    args: list[Any] = [period.stop, period.start]
    if project_id is not None:
        where += " AND project_id = $3"
        args.append(project_id)
    servers = await select(store(request).pool, Server, where, *args, order="launched_at, id")
    paged = version_of(request).at_least("2.40")
    servers = paging.page(request, servers, _id) if paged else servers[: paging.MAX_LIMIT]
    now = SystemClock().now()
    usages: dict[str, dict[str, Any]] = {}
    for server in servers:
        assert server.launched_at is not None
        hours = period.hours(server)
        flavor = server.flavor
        disk = flavor.disk + flavor.ephemeral
        usage = usages.setdefault(server.project_id, _summary(server.project_id, period, detailed))
        usage["total_hours"] += hours
        usage["total_vcpus_usage"] += flavor.vcpus * hours
        usage["total_memory_mb_usage"] += flavor.ram * hours
        usage["total_local_gb_usage"] += disk * hours
        if detailed:
            ended = server.terminated_at
            usage["server_usages"].append(
                {
                    "instance_id": server.id,
                    "name": server.name,
                    "tenant_id": server.project_id,
                    "flavor": flavor.name,
                    "hours": hours,
                    "vcpus": flavor.vcpus,
                    "memory_mb": flavor.ram,
                    "local_gb": disk,
                    "started_at": usage_time(server.launched_at),
                    "ended_at": usage_time(ended),
                    "state": "terminated" if ended else server.vm_state,
                    "uptime": int(((ended or now) - server.launched_at).total_seconds()),
                }
            )
    return list(usages.values()), paging.next_link(request, servers, _id) if paged else []


def _id(server: Server) -> str:
    return server.id


def _summary(project_id: str, period: Period, detailed: bool) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "tenant_id": project_id,
        "start": usage_time(period.start),
        "stop": usage_time(period.stop),
        "total_hours": 0.0,
        "total_vcpus_usage": 0.0,
        "total_memory_mb_usage": 0.0,
        "total_local_gb_usage": 0.0,
    }
    return summary | ({"server_usages": []} if detailed else {})


@ROUTES.get("/v2.1/os-simple-tenant-usage")
async def list_tenant_usages(request: web.Request) -> web.Response:
    """Every project's usage (admin); each server's too with `detailed=1`."""
    authorize(request, "os_compute_api:os-simple-tenant-usage:list")
    period = _period(request)
    detailed = request.query.get("detailed") == "1"
    usages, links = await _usages(request, period, None, detailed=detailed)
    return json_response(
        {"tenant_usages": usages} | ({"tenant_usages_links": links} if links else {})
    )


@ROUTES.get("/v2.1/os-simple-tenant-usage/{project_id}")
async def show_tenant_usage(request: web.Request) -> web.Response:
    """One project's usage with its servers' ({} if it had none in the period)."""
    project_id = request.match_info["project_id"]
    authorize(request, "os_compute_api:os-simple-tenant-usage:show", {"project_id": project_id})
    period = _period(request)
    found, links = await _usages(request, period, project_id, detailed=True)
    body = {"tenant_usage": found[0] if found else {}}
    return json_response(body | ({"tenant_usage_links": links} if links else {}))
