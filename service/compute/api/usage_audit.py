"""/v2.1/os-instance_usage_audit_log (admin): the state of Nova's periodic instance usage
audit on each compute host for the last month completed. Kumo runs no such task (every
server's usage is in the log, os-simple-tenant-usage reads it at any time), so each host
is reported as not having run it."""

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from events.clock import SystemClock
from service.compute.directory import Host, select
from service.compute.policy_rules import authorize
from service.errors import BadRequest
from service.http.body import json_response
from service.http.recording import store

ROUTES = web.RouteTableDef()


def audit_period(before: datetime) -> tuple[datetime, datetime]:
    """The last month completed before `before` (Nova's default audit period)."""
    end = before.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    start = (
        end.replace(year=end.year - 1, month=12)
        if end.month == 1
        else end.replace(month=end.month - 1)
    )
    return start, end


async def _log(request: web.Request, before: datetime) -> dict[str, Any]:
    begin, end = audit_period(before)
    hosts = [h.name for h in await select(store(request).pool, Host)]
    return {
        "period_beginning": str(begin.replace(tzinfo=None)),
        "period_ending": str(end.replace(tzinfo=None)),
        "num_hosts": len(hosts),
        "num_hosts_done": 0,
        "num_hosts_running": 0,
        "num_hosts_not_run": len(hosts),
        "hosts_not_run": hosts,
        "total_instances": 0,
        "total_errors": 0,
        "overall_status": f"0 of {len(hosts)} hosts done. 0 errors.",
        "log": {},
    }


@ROUTES.get("/v2.1/os-instance_usage_audit_log")
async def list_audit_logs(request: web.Request) -> web.Response:
    authorize(request, "os_compute_api:os-instance-usage-audit-log:list")
    log = await _log(request, SystemClock().now())
    return json_response({"instance_usage_audit_logs": log})


@ROUTES.get("/v2.1/os-instance_usage_audit_log/{before}")
async def show_audit_log(request: web.Request) -> web.Response:
    """The audit of the last month completed before the time in the path (UTC, `Y-m-d
    H:M:S` with optional fractions); 400 if it is not one."""
    authorize(request, "os_compute_api:os-instance-usage-audit-log:show")
    text = request.match_info["before"]
    form = "%Y-%m-%d %H:%M:%S.%f" if "." in text else "%Y-%m-%d %H:%M:%S"
    try:
        before = datetime.strptime(text, form).replace(tzinfo=UTC)
    except ValueError:
        raise BadRequest(f"Invalid timestamp for date {text}") from None
    return json_response({"instance_usage_audit_log": await _log(request, before)})
