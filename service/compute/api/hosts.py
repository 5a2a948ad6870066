"""/v2.1/os-hosts (admin, up to 2.42): the compute hosts, what each offers and what its
servers take of it, and enabling or disabling one. Maintenance mode and powering a host
on, off or round are not things Kumo can do (Nova's libvirt driver cannot either): 501."""

from typing import Any, Literal

import msgspec
from aiohttp import web

from service.compute import events as ev
from service.compute.api.hypervisors import HostUsage, usage_by_host
from service.compute.api.microversion import version_of
from service.compute.directory import Host, get, select
from service.compute.policy_rules import authorize
from service.errors import BadRequest, NotFound, NotSupported
from service.http.body import json_response, read_json
from service.http.recording import record, store

ROUTES = web.RouteTableDef()

LAST_VERSION = "2.42"
"""Nova removed os-hosts after this microversion (os-services and os-hypervisors stay)."""

Switch = Literal["enable", "disable", "Enable", "Disable", "ENABLE", "DISABLE"]


class HostUpdate(msgspec.Struct, forbid_unknown_fields=True):
    status: Switch | None = None
    maintenance_mode: Switch | None = None


def _allow(request: web.Request, action: str) -> None:
    """Refuse (403) unless `action` is allowed; 404 past 2.42."""
    authorize(request, action)
    if version_of(request).at_least("2.43"):
        raise NotFound("The resource could not be found.")


async def _host(request: web.Request) -> Host:
    """The host in the path; 404 if there is none."""
    name = request.match_info["host_name"]
    host = await get(store(request).pool, Host, name)
    if host is None:
        raise NotFound(f"Compute host {name} could not be found.")
    return host


@ROUTES.get("/v2.1/os-hosts")
async def list_hosts(request: web.Request) -> web.Response:
    """The compute hosts, of one availability zone if `zone` is given (and not blank)."""
    _allow(request, "os_compute_api:os-hosts:list")
    zone = request.query.get("zone")
    hosts = await select(store(request).pool, Host)
    items = [
        {"host_name": h.name, "service": "compute", "zone": h.availability_zone}
        for h in hosts
        if not zone or h.availability_zone == zone
    ]
    return json_response({"hosts": items})


def _resource(host: str, project: str, held: tuple[int, int, int]) -> Any:
    """One line of a host's resources: `held` is (vCPUs, MB of RAM, GB of disk)."""
    cpu, memory_mb, disk_gb = held
    shown = {"host": host, "project": project, "cpu": cpu, "memory_mb": memory_mb}
    return {"resource": shown | {"disk_gb": disk_gb}}


@ROUTES.get("/v2.1/os-hosts/{host_name}")
async def show_host(request: web.Request) -> web.Response:
    """What the host offers (total), what its servers hold now (used_now), the sum of
    their flavors (used_max), and that sum by project, as Nova shows them."""
    _allow(request, "os_compute_api:os-hosts:show")
    host = await _host(request)
    pool = store(request).pool
    used = (await usage_by_host(pool)).get(host.name, HostUsage())
    rows = await pool.fetch(
        "SELECT project_id, sum((flavor->>'vcpus')::int) AS cpu,"
        " sum((flavor->>'ram')::int) AS memory_mb,"
        " sum((flavor->>'disk')::int + coalesce((flavor->>'ephemeral')::int, 0)) AS disk_gb"
        " FROM rm_servers WHERE host = $1 AND NOT deleted GROUP BY project_id"
        " ORDER BY project_id",
        host.name,
    )
    held = {r["project_id"]: (r["cpu"], r["memory_mb"], r["disk_gb"]) for r in rows}
    summed = (
        sum(cpu for cpu, _, _ in held.values()),
        sum(memory for _, memory, _ in held.values()),
        sum(disk for _, _, disk in held.values()),
    )
    resources = [
        _resource(host.name, "(total)", (host.vcpus, host.memory_mb, host.disk_gb)),
        _resource(
            host.name, "(used_now)", (used.vcpus_used, used.memory_mb_used, used.local_gb_used)
        ),
        _resource(host.name, "(used_max)", summed),
    ]
    resources += [_resource(host.name, project, h) for project, h in held.items()]
    return json_response({"host": resources})


@ROUTES.put("/v2.1/os-hosts/{host_name}")
async def update_host(request: web.Request) -> web.Response:
    """`status`: enable or disable the host for new servers (its compute service's status,
    as os-services sets it); `maintenance_mode`: not supported (501)."""
    _allow(request, "os_compute_api:os-hosts:update")
    body = await read_json(request, HostUpdate)
    if body.status is None and body.maintenance_mode is None:
        raise BadRequest("Either status or maintenance_mode is required.")
    host = await _host(request)
    if body.maintenance_mode is not None:
        raise NotSupported("Kumo has no host maintenance mode.")
    assert body.status is not None
    enabled = body.status.lower() == "enable"
    changed = ev.HostStatusChanged(host=host.name, enabled=enabled)
    await record(request, f"host-{host.name}", [changed])
    return json_response({"host": host.name, "status": "enabled" if enabled else "disabled"})


async def _power_action(request: web.Request, action: str) -> web.Response:
    _allow(request, f"os_compute_api:os-hosts:{action}")
    host = await _host(request)
    raise NotSupported(f"Kumo cannot {action} host {host.name}.")


@ROUTES.get("/v2.1/os-hosts/{host_name}/startup")
async def startup_host(request: web.Request) -> web.Response:
    return await _power_action(request, "start")


@ROUTES.get("/v2.1/os-hosts/{host_name}/shutdown")
async def shutdown_host(request: web.Request) -> web.Response:
    return await _power_action(request, "shutdown")


@ROUTES.get("/v2.1/os-hosts/{host_name}/reboot")
async def reboot_host(request: web.Request) -> web.Response:
    return await _power_action(request, "reboot")
