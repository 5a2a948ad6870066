"""What the hypervisor of this process's compute host tells of a server's guest: its
diagnostics (GET /v2.1/servers/{id}/diagnostics, admin) and, through the
os-getConsoleOutput action (service/compute/api/actions.py), its console."""

from aiohttp import web

from service.compute.api.servers import visible_server
from service.compute.directory import Server
from service.compute.hypervisor import Hypervisor, HypervisorError
from service.compute.policy_rules import authorize
from service.compute.worker import COMPUTE_HOST
from service.errors import Conflict
from service.http.body import json_response

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
    """The guest's state and resources as libvirt reports them now (before 2.48 Nova's
    diagnostics are the driver's own keys): memory in KiB, CPU time in ns."""
    authorize(request, "os_compute_api:os-server-diagnostics")
    server = await visible_server(request, request.match_info["server_id"])
    hypervisor = guest_hypervisor(request, server, "diagnostics")
    try:
        info = await hypervisor.info(server.id)
    except HypervisorError as error:
        raise Conflict(f"Cannot read the diagnostics of instance {server.id}: {error}") from None
    return json_response(
        {
            "state": info.state.name.lower(),
            "driver": "libvirt",
            "num_cpus": info.vcpus,
            "memory": info.memory_mib * 1024,
            "cpu_time": info.cpu_time_ns,
        }
    )
