"""/v2.1/os-hypervisors (admin): the compute hosts as hypervisors, what their servers use
of them, and the statistics over all of them. A hypervisor's id is its host's number."""

from typing import Any

import msgspec
from aiohttp import web

from events.clock import SystemClock
from service.compute.api.microversion import version_of
from service.compute.directory import Host, numbered_hosts
from service.compute.hosts import hosts_up
from service.compute.policy_rules import authorize
from service.errors import NotFound, NotSupported
from service.http.body import json_response
from service.http.recording import store

ROUTES = web.RouteTableDef()


class HostUsage(msgspec.Struct, frozen=True):
    """What a host's servers (not deleted) take of it."""

    running_vms: int = 0
    vcpus_used: int = 0
    memory_mb_used: int = 0
    local_gb_used: int = 0
    current_workload: int = 0


async def usage_by_host(db: Any) -> dict[str, HostUsage]:
    """What the host-resource read model (service/compute/hosts.py) holds for each host,
    and how many of its servers are in the middle of a task."""
    rows = await db.fetch(
        "SELECT host, running_vms, vcpus_used, memory_mb_used, local_gb_used,"
        " (SELECT count(*) FROM rm_servers s WHERE s.host = r.host AND NOT s.deleted"
        " AND s.task_state IS NOT NULL) AS current_workload FROM rm_host_resources r"
    )
    return {r["host"]: msgspec.convert(dict(r), HostUsage) for r in rows}


def brief(number: int, host: Host, up: set[str]) -> dict[str, Any]:
    """A hypervisor in short; `up`: the hosts whose worker runs."""
    return {
        "id": number,
        "hypervisor_hostname": host.name,
        "state": "up" if host.name in up else "down",
        "status": "enabled" if host.enabled else "disabled",
    }


def detail(
    request: web.Request, number: int, host: Host, used: HostUsage, up: set[str]
) -> dict[str, Any]:
    """A hypervisor as Nova shows it (`cpu_info` is an object from 2.28)."""
    return brief(number, host, up) | {
        "cpu_info": {} if version_of(request).at_least("2.28") else "{}",
        "current_workload": used.current_workload,
        "disk_available_least": host.disk_gb - used.local_gb_used,
        "host_ip": None,
        "free_disk_gb": host.disk_gb - used.local_gb_used,
        "free_ram_mb": host.memory_mb - used.memory_mb_used,
        "hypervisor_type": host.hypervisor_type,
        "hypervisor_version": 0,
        "local_gb": host.disk_gb,
        "local_gb_used": used.local_gb_used,
        "memory_mb": host.memory_mb,
        "memory_mb_used": used.memory_mb_used,
        "running_vms": used.running_vms,
        "service": {"host": host.name, "id": number, "disabled_reason": host.disabled_reason},
        "vcpus": host.vcpus,
        "vcpus_used": used.vcpus_used,
    }


@ROUTES.get("/v2.1/os-hypervisors")
async def list_hypervisors(request: web.Request) -> web.Response:
    authorize(request, "os_compute_api:os-hypervisors:list")
    pool = store(request).pool
    hosts = await numbered_hosts(pool)
    up = await hosts_up(pool, [h.name for _, h in hosts])
    return json_response({"hypervisors": [brief(n, h, up) for n, h in hosts]})


@ROUTES.get("/v2.1/os-hypervisors/detail")
async def list_hypervisors_detail(request: web.Request) -> web.Response:
    authorize(request, "os_compute_api:os-hypervisors:list-detail")
    pool = store(request).pool
    used = await usage_by_host(pool)
    hosts = await numbered_hosts(pool)
    up = await hosts_up(pool, [h.name for _, h in hosts])
    items = [detail(request, n, h, used.get(h.name, HostUsage()), up) for n, h in hosts]
    return json_response({"hypervisors": items})


@ROUTES.get("/v2.1/os-hypervisors/statistics")
async def hypervisor_statistics(request: web.Request) -> web.Response:
    authorize(request, "os_compute_api:os-hypervisors:statistics")
    pool = store(request).pool
    used = await usage_by_host(pool)
    hosts = await numbered_hosts(pool)
    up = await hosts_up(pool, [h.name for _, h in hosts])
    items = [detail(request, n, h, used.get(h.name, HostUsage()), up) for n, h in hosts]
    summed = (
        "current_workload", "disk_available_least", "free_disk_gb", "free_ram_mb", "local_gb",
        "local_gb_used", "memory_mb", "memory_mb_used", "running_vms", "vcpus", "vcpus_used",
    )  # fmt: skip
    statistics = {"count": len(items)} | {k: sum(i[k] for i in items) for k in summed}
    return json_response({"hypervisor_statistics": statistics})


async def _numbered(request: web.Request) -> tuple[int, Host]:
    """The hypervisor the path names by number; 404 if there is none."""
    wanted = request.match_info["hypervisor_id"]
    for number, host in await numbered_hosts(store(request).pool):
        if str(number) == wanted:
            return number, host
    raise NotFound(f"Hypervisor with ID '{wanted}' could not be found.")


@ROUTES.get("/v2.1/os-hypervisors/{hypervisor_id}")
async def show_hypervisor(request: web.Request) -> web.Response:
    authorize(request, "os_compute_api:os-hypervisors:show")
    number, host = await _numbered(request)
    pool = store(request).pool
    used = (await usage_by_host(pool)).get(host.name, HostUsage())
    up = await hosts_up(pool, [host.name])
    return json_response({"hypervisor": detail(request, number, host, used, up)})


@ROUTES.get("/v2.1/os-hypervisors/{hypervisor_id}/uptime")
async def hypervisor_uptime(request: web.Request) -> web.Response:
    """How long the host's machine has run since it booted, as `uptime` words it (Nova
    shows that command's output); 501 if its worker could not tell when it booted."""
    authorize(request, "os_compute_api:os-hypervisors:uptime")
    number, host = await _numbered(request)
    if host.booted_at is None:
        raise NotSupported(f"The uptime of host {host.name} is unknown.")
    now = SystemClock().now()
    minutes = int((now - host.booted_at).total_seconds()) // 60
    days, hours, minutes = minutes // 1440, minutes % 1440 // 60, minutes % 60
    uptime = f" {now:%H:%M:%S} up {days} days, {hours:2d}:{minutes:02d}"
    up = await hosts_up(store(request).pool, [host.name])
    return json_response({"hypervisor": brief(number, host, up) | {"uptime": uptime}})


async def _matching(request: web.Request, action: str) -> list[tuple[int, Host]]:
    """The hypervisors whose host name contains the path's pattern; 404 if none does."""
    authorize(request, action)
    pattern = request.match_info["pattern"]
    found = [(n, h) for n, h in await numbered_hosts(store(request).pool) if pattern in h.name]
    if not found:
        raise NotFound(f"No hypervisor matching '{pattern}' could be found.")
    return found


@ROUTES.get("/v2.1/os-hypervisors/{pattern}/search")
async def search_hypervisors(request: web.Request) -> web.Response:
    found = await _matching(request, "os_compute_api:os-hypervisors:search")
    up = await hosts_up(store(request).pool, [h.name for _, h in found])
    return json_response({"hypervisors": [brief(n, h, up) for n, h in found]})


@ROUTES.get("/v2.1/os-hypervisors/{pattern}/servers")
async def hypervisor_servers(request: web.Request) -> web.Response:
    found = await _matching(request, "os_compute_api:os-hypervisors:servers")
    rows = await store(request).pool.fetch(
        "SELECT host, id, name FROM rm_servers WHERE NOT deleted AND host = ANY($1)"
        " ORDER BY created_at, id", [h.name for _, h in found],
    )  # fmt: skip
    up = await hosts_up(store(request).pool, [h.name for _, h in found])
    items = []
    for number, host in found:
        servers = [{"uuid": r["id"], "name": r["name"]} for r in rows if r["host"] == host.name]
        items.append(brief(number, host, up) | ({"servers": servers} if servers else {}))
    return json_response({"hypervisors": items})
