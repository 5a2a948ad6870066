"""/v2.1/os-availability-zone: the zones of the compute hosts (Nova's default `nova` when
there are none yet), and for an admin their hosts and compute services (`/detail`)."""

from typing import Any

from aiohttp import web

from service.compute.directory import Host, select
from service.compute.hosts import DEFAULT_ZONE, hosts_up
from service.compute.policy_rules import authorize
from service.http.body import json_response
from service.http.recording import store

ROUTES = web.RouteTableDef()


def _zones(hosts: list[Host]) -> dict[str, list[Host]]:
    zones: dict[str, list[Host]] = {}
    for host in hosts:
        zones.setdefault(host.availability_zone, []).append(host)
    return zones or {DEFAULT_ZONE: []}


def _available(hosts: list[Host]) -> bool:
    """A zone is available when any host in it is enabled (or it has none yet)."""
    return not hosts or any(h.enabled for h in hosts)


def _services(host: Host, up: set[str]) -> dict[str, Any]:
    """A host's compute service as Nova details it: available while its worker runs (up),
    active unless disabled."""
    return {
        "nova-compute": {
            "available": host.name in up,
            "active": host.enabled,
            "updated_at": host.updated_at.replace(tzinfo=None).isoformat(timespec="microseconds"),
        }
    }


@ROUTES.get("/v2.1/os-availability-zone")
async def list_zones(request: web.Request) -> web.Response:
    authorize(request, "os_compute_api:os-availability-zone:list")
    zones = _zones(await select(store(request).pool, Host))
    items = [
        {"zoneName": name, "zoneState": {"available": _available(hosts)}, "hosts": None}
        for name, hosts in sorted(zones.items())
    ]
    return json_response({"availabilityZoneInfo": items})


@ROUTES.get("/v2.1/os-availability-zone/detail")
async def list_zones_detail(request: web.Request) -> web.Response:
    authorize(request, "os_compute_api:os-availability-zone:detail")
    pool = store(request).pool
    every = await select(pool, Host)
    up = await hosts_up(pool, [h.name for h in every])
    items = [
        {
            "zoneName": name,
            "zoneState": {"available": _available(hosts)},
            "hosts": {h.name: _services(h, up) for h in hosts} or None,
        }
        for name, hosts in sorted(_zones(every).items())
    ]
    return json_response({"availabilityZoneInfo": items})
