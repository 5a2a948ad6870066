"""What the hypervisor of this process's compute host tells of a server's guest: its
diagnostics (GET /v2.1/servers/{id}/diagnostics, admin) and, through the
os-getConsoleOutput action (service/compute/api/actions.py), its console."""

from typing import Any

from aiohttp import web

from events.clock import SystemClock
from service.compute.api.microversion import version_of
from service.compute.api.servers import visible_server
from service.compute.directory import Host, Server, get
from service.compute.hypervisor import DomainInfo, DomainState, Hypervisor, HypervisorError
from service.compute.policy_rules import authorize
from service.compute.worker import COMPUTE_HOST
from service.errors import Conflict
from service.http.body import json_response
from service.http.recording import store

ROUTES = web.RouteTableDef()


def guest_hypervisor(request: web.Request, server: Server, what: str) -> Hypervisor:
    """The hypervisor running the server's guest; 409 naming `what` could not be read if
    the server has no host or its host is not this process's."""
    hypervisor = request.config_dict[COMPUTE_HOST].hypervisor
    if hypervisor is None or server.host is None:
        raise Conflict(f"The {what} of instance {server.id} is not available on this host.")
    return hypervisor


@ROUTES.get("/v2.1/servers/{server_id}/diagnostics")
async def server_diagnostics(request: web.Request) -> web.Response:
    """The guest's state and resources as libvirt reports them now: before 2.48 Nova's
    diagnostics are the driver's own keys (memory in KiB, CPU time in ns), from 2.48 its
    standard fields, null where Kumo cannot tell (per-device counters)."""
    authorize(request, "os_compute_api:os-server-diagnostics")
    server = await visible_server(request, request.match_info["server_id"])
    hypervisor = guest_hypervisor(request, server, "diagnostics")
    try:
        info = await hypervisor.info(server.id)
    except HypervisorError as error:
        raise Conflict(f"Cannot read the diagnostics of instance {server.id}: {error}") from None
    if not version_of(request).at_least("2.48"):
        return json_response(
            {
                "state": info.state.name.lower(),
                "driver": "libvirt",
                "num_cpus": info.vcpus,
                "memory": info.memory_mib * 1024,
                "cpu_time": info.cpu_time_ns,
            }
        )
    return json_response(await _standard(request, server, info))


_STATES = {DomainState.NOSTATE: "pending"}
"""Nova's diagnostics state of a power state, where it is not the state's own name."""
_NIC_COUNTERS = tuple(
    f"{way}_{counter}"
    for way in ("rx", "tx")
    for counter in ("octets", "errors", "drop", "packets", "rate")
)
_DISK_COUNTERS = ("read_bytes", "read_requests", "write_bytes", "write_requests", "errors_count")


async def _standard(request: web.Request, server: Server, info: DomainInfo) -> dict[str, Any]:
    """The 2.48 diagnostics: the domain's state, vCPUs and memory; the guest's NICs (its
    ports' MACs) and disks (the root disk and any config drive), their counters unknown."""
    pool = store(request).pool
    host = await get(pool, Host, server.host or "")
    macs = await pool.fetch(
        "SELECT mac_address FROM rm_ports WHERE device_id = $1 ORDER BY created_at, id",
        server.id,
    )
    nics = [{"mac_address": r["mac_address"]} | dict.fromkeys(_NIC_COUNTERS) for r in macs]
    disks = [dict.fromkeys(_DISK_COUNTERS) for _ in range(1 + server.config_drive)]
    launched = server.launched_at
    return {
        "state": _STATES.get(info.state, info.state.name.lower()),
        "driver": "libvirt",
        "hypervisor": host.hypervisor_type.lower() if host else None,
        "hypervisor_os": "linux",
        "uptime": int((SystemClock().now() - launched).total_seconds()) if launched else None,
        "config_drive": server.config_drive,
        "num_cpus": info.vcpus,
        "num_nics": len(nics),
        "num_disks": len(disks),
        "memory_details": {"maximum": info.memory_mib, "used": None},
        "cpu_details": [{"id": i, "time": None, "utilisation": None} for i in range(info.vcpus)],
        "nic_details": nics,
        "disk_details": disks,
    }
