"""/v2.1/os-hypervisors (admin): the compute hosts as hypervisors, what their servers use
of them, and the statistics over all of them. A hypervisor's id is its host's number, a
uuid from 2.53 (when listings also take a host name pattern and show servers)."""

from collections.abc import Callable
from typing import Any

import msgspec
from aiohttp import web

from events.clock import SystemClock
from service.compute.api import paging
from service.compute.api.microversion import version_of
from service.compute.api.params import boolean, is_uuid, only
from service.compute.directory import Host, host_uuid, numbered_hosts
from service.compute.hosts import hosts_up
from service.compute.policy_rules import authorize
from service.errors import BadRequest, NotFound, NotSupported
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


def by_uuid(request: web.Request) -> bool:
    """Whether hypervisors and services go by uuid (2.53) rather than by number."""
    return version_of(request).at_least("2.53")


def brief(request: web.Request, number: int, host: Host, up: set[str]) -> dict[str, Any]:
    """A hypervisor in short; `up`: the hosts whose worker runs."""
    return {
        "id": host_uuid(host.name, "hypervisor") if by_uuid(request) else number,
        "hypervisor_hostname": host.name,
        "state": "up" if host.name in up else "down",
        "status": "enabled" if host.enabled else "disabled",
    }


def detail(
    request: web.Request, number: int, host: Host, used: HostUsage, up: set[str]
) -> dict[str, Any]:
    """A hypervisor as Nova shows it (`cpu_info` is an object from 2.28)."""
    service_id = host_uuid(host.name, "service") if by_uuid(request) else number
    return brief(request, number, host, up) | {
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
        "service": {"host": host.name, "id": service_id, "disabled_reason": host.disabled_reason},
        "vcpus": host.vcpus,
        "vcpus_used": used.vcpus_used,
    }


Numbered = list[tuple[int, Host]]
_LIST_PARAMS = frozenset({"limit", "marker", "hypervisor_hostname_pattern", "with_servers"})


def _query(request: web.Request, allowed: frozenset[str]) -> bool:
    """From 2.53: BadRequest (400) for a query parameter not `allowed`; whether the
    query asks `with_servers`."""
    if not by_uuid(request):
        return False
    only(request.query, allowed)
    return boolean("with_servers", request.query.get("with_servers", False))


async def _listed_hosts(request: web.Request) -> tuple[Numbered, bool]:
    """The hypervisors a listing shows: a page of them (`limit`, `marker`) from 2.33,
    their host names matching `hypervisor_hostname_pattern` instead from 2.53; and
    whether to show their servers (`with_servers`, 2.53)."""
    with_servers = _query(request, _LIST_PARAMS)
    hosts = await numbered_hosts(store(request).pool)
    pattern = request.query.get("hypervisor_hostname_pattern") if by_uuid(request) else None
    if pattern is not None:
        if "limit" in request.query or "marker" in request.query:
            raise BadRequest(
                "Paging over hypervisors with the hypervisor_hostname_pattern query "
                "parameter is not supported."
            )
        return _matching(hosts, pattern), with_servers
    if not version_of(request).at_least("2.33"):
        return hosts, with_servers
    key = _key(request)
    return paging.page(request, hosts, lambda numbered: key(*numbered)), with_servers


def _key(request: web.Request) -> Callable[[int, Host], str]:
    """A hypervisor's id as the path and a marker give it at the request's version."""
    if by_uuid(request):
        return lambda number, host: host_uuid(host.name, "hypervisor")
    return lambda number, host: str(number)


def _listed(request: web.Request, items: list[dict[str, Any]]) -> dict[str, Any]:
    """The listing's body: `items`, and from 2.33 a link to the next page if it is full."""
    links = []
    if version_of(request).at_least("2.33"):
        links = paging.next_link(request, items, lambda item: str(item["id"]))
    return {"hypervisors": items} | ({"hypervisors_links": links} if links else {})


async def _servers(request: web.Request, hosts: Numbered) -> dict[str, list[dict[str, str]]]:
    """The servers (not deleted) on each of `hosts` that has any, as Nova lists them."""
    rows = await store(request).pool.fetch(
        "SELECT host, id, name FROM rm_servers WHERE NOT deleted AND host = ANY($1)"
        " ORDER BY created_at, id",
        [h.name for _, h in hosts],
    )
    found: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        found.setdefault(row["host"], []).append({"uuid": row["id"], "name": row["name"]})
    return found


async def _with_servers(
    request: web.Request, hosts: Numbered, items: list[dict[str, Any]], wanted: bool
) -> list[dict[str, Any]]:
    """`items` (one per host), each with its host's servers if `wanted` and it has any."""
    if not wanted:
        return items
    servers = await _servers(request, hosts)
    return [
        item | ({"servers": servers[host.name]} if host.name in servers else {})
        for item, (_, host) in zip(items, hosts, strict=True)
    ]


@ROUTES.get("/v2.1/os-hypervisors")
async def list_hypervisors(request: web.Request) -> web.Response:
    authorize(request, "os_compute_api:os-hypervisors:list")
    shown, with_servers = await _listed_hosts(request)
    up = await hosts_up(store(request).pool, [h.name for _, h in shown])
    items = [brief(request, n, h, up) for n, h in shown]
    return json_response(_listed(request, await _with_servers(request, shown, items, with_servers)))


@ROUTES.get("/v2.1/os-hypervisors/detail")
async def list_hypervisors_detail(request: web.Request) -> web.Response:
    authorize(request, "os_compute_api:os-hypervisors:list-detail")
    pool = store(request).pool
    used = await usage_by_host(pool)
    shown, with_servers = await _listed_hosts(request)
    up = await hosts_up(pool, [h.name for _, h in shown])
    items = [detail(request, n, h, used.get(h.name, HostUsage()), up) for n, h in shown]
    return json_response(_listed(request, await _with_servers(request, shown, items, with_servers)))


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
    """The hypervisor the path names by number (by uuid from 2.53: BadRequest if it is
    none); 404 if there is no such hypervisor."""
    wanted = request.match_info["hypervisor_id"]
    if by_uuid(request) and not is_uuid(wanted):
        raise BadRequest(f"Invalid uuid {wanted}")
    key = _key(request)
    for number, host in await numbered_hosts(store(request).pool):
        if key(number, host) == wanted:
            return number, host
    raise NotFound(f"Hypervisor with ID '{wanted}' could not be found.")


@ROUTES.get("/v2.1/os-hypervisors/{hypervisor_id}")
async def show_hypervisor(request: web.Request) -> web.Response:
    authorize(request, "os_compute_api:os-hypervisors:show")
    with_servers = _query(request, frozenset({"with_servers"}))
    number, host = await _numbered(request)
    pool = store(request).pool
    used = (await usage_by_host(pool)).get(host.name, HostUsage())
    up = await hosts_up(pool, [host.name])
    [shown] = await _with_servers(
        request, [(number, host)], [detail(request, number, host, used, up)], with_servers
    )
    return json_response({"hypervisor": shown})


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
    return json_response({"hypervisor": brief(request, number, host, up) | {"uptime": uptime}})


def _matching(hosts: Numbered, pattern: str) -> Numbered:
    """The hypervisors whose host name contains `pattern`; 404 if none does."""
    found = [(n, h) for n, h in hosts if pattern in h.name]
    if not found:
        raise NotFound(f"No hypervisor matching '{pattern}' could be found.")
    return found


async def _searched(request: web.Request, action: str) -> Numbered:
    """The hypervisors matching the path's pattern (routes gone at 2.53: 404)."""
    authorize(request, action)
    if by_uuid(request):
        raise NotFound("The resource could not be found.")
    return _matching(await numbered_hosts(store(request).pool), request.match_info["pattern"])


@ROUTES.get("/v2.1/os-hypervisors/{pattern}/search")
async def search_hypervisors(request: web.Request) -> web.Response:
    found = await _searched(request, "os_compute_api:os-hypervisors:search")
    up = await hosts_up(store(request).pool, [h.name for _, h in found])
    return json_response({"hypervisors": [brief(request, n, h, up) for n, h in found]})


@ROUTES.get("/v2.1/os-hypervisors/{pattern}/servers")
async def hypervisor_servers(request: web.Request) -> web.Response:
    found = await _searched(request, "os_compute_api:os-hypervisors:servers")
    up = await hosts_up(store(request).pool, [h.name for _, h in found])
    items = [brief(request, n, h, up) for n, h in found]
    return json_response({"hypervisors": await _with_servers(request, found, items, True)})
