"""/v2.1/os-services (admin): one `nova-compute` service per compute host, its status,
and enabling or disabling it (with a reason) as events on the host's stream: by host and
binary until 2.52, by the service's uuid from 2.53."""

from typing import Annotated, Any, Literal

import msgspec
from aiohttp import web
from msgspec import Meta

from service.compute import events as ev
from service.compute.api.microversion import version_of
from service.compute.api.params import is_uuid
from service.compute.directory import Host, get, host_uuid, numbered_hosts
from service.compute.hosts import hosts_up
from service.compute.policy_rules import authorize
from service.errors import BadRequest, NotFound, NotSupported
from service.http.body import json_response, read_json
from service.http.recording import record, store

ROUTES = web.RouteTableDef()

BINARY = "nova-compute"


class ServiceRef(msgspec.Struct):
    host: str
    binary: str
    disabled_reason: Annotated[str, Meta(min_length=1, max_length=255)] | None = None


class ServiceUpdate(msgspec.Struct, forbid_unknown_fields=True):
    status: Literal["enabled", "disabled"] | None = None
    disabled_reason: Annotated[str, Meta(min_length=1, max_length=255)] | None = None
    forced_down: bool | None = None


def view(request: web.Request, number: int, host: Host, up: set[str]) -> dict[str, Any]:
    """A host's compute service as Nova lists it (`forced_down` from 2.11, its uuid for
    an id from 2.53); `up`: the hosts whose worker runs."""
    by_uuid = version_of(request).at_least("2.53")
    shown = {
        "id": host_uuid(host.name, "service") if by_uuid else number,
        "binary": BINARY,
        "host": host.name,
        "zone": host.availability_zone,
        "status": "enabled" if host.enabled else "disabled",
        "state": "up" if host.name in up else "down",
        "updated_at": host.updated_at.replace(tzinfo=None).isoformat(timespec="microseconds"),
        "disabled_reason": host.disabled_reason,
    }
    if version_of(request).at_least("2.11"):
        shown["forced_down"] = False
    return shown


@ROUTES.get("/v2.1/os-services")
async def list_services(request: web.Request) -> web.Response:
    """The services, filtered by `host` and `binary`."""
    authorize(request, "os_compute_api:os-services:list")
    host_name, binary = request.query.get("host"), request.query.get("binary", BINARY)
    pool = store(request).pool
    hosts = await numbered_hosts(pool)
    up = await hosts_up(pool, [h.name for _, h in hosts])
    items = [
        view(request, number, host, up)
        for number, host in hosts
        if binary == BINARY and host_name in (None, host.name)
    ]
    return json_response({"services": items})


async def _set_status(request: web.Request, enabled: bool, with_reason: bool) -> web.Response:
    authorize(request, "os_compute_api:os-services:update")
    if version_of(request).at_least("2.53"):  # the path's last part is a service's uuid
        raise BadRequest(f"Invalid uuid {request.path.rsplit('/', 1)[-1]}")
    body = await read_json(request, ServiceRef)
    host = await get(store(request).pool, Host, body.host)
    if host is None or body.binary != BINARY:
        raise NotFound(f"Service {body.binary} on host {body.host} could not be found.")
    reason = body.disabled_reason if with_reason else None
    if with_reason and reason is None:
        raise BadRequest("A disabled_reason is required.")
    changed = ev.HostStatusChanged(host=host.name, enabled=enabled, reason=reason)
    await record(request, f"host-{host.name}", [changed])
    shown: dict[str, Any] = {"host": host.name, "binary": BINARY}
    shown["status"] = "enabled" if enabled else "disabled"
    if with_reason:
        shown["disabled_reason"] = reason
    return json_response({"service": shown})


@ROUTES.put("/v2.1/os-services/enable")
async def enable_service(request: web.Request) -> web.Response:
    return await _set_status(request, enabled=True, with_reason=False)


@ROUTES.put("/v2.1/os-services/disable")
async def disable_service(request: web.Request) -> web.Response:
    return await _set_status(request, enabled=False, with_reason=False)


@ROUTES.put("/v2.1/os-services/disable-log-reason")
async def disable_service_with_reason(request: web.Request) -> web.Response:
    return await _set_status(request, enabled=False, with_reason=True)


@ROUTES.put("/v2.1/os-services/{service_id}")
async def update_service(request: web.Request) -> web.Response:
    """Enable or disable (with a reason) the service of the uuid (2.53); Kumo cannot
    force a service down (501), as no other service would act on it."""
    authorize(request, "os_compute_api:os-services:update")
    if not version_of(request).at_least("2.53"):
        raise NotFound("The resource could not be found.")
    service_id = request.match_info["service_id"]
    if not is_uuid(service_id):
        raise BadRequest(f"Invalid uuid {service_id}")
    body = await read_json(request, ServiceUpdate)
    if body.status is None and body.forced_down is None:
        raise BadRequest(
            "No updates were requested. Fields 'status' or 'forced_down' should be specified."
        )
    if body.disabled_reason is not None and body.status != "disabled":
        raise BadRequest("Specifying 'disabled_reason' with status 'enabled' is invalid.")
    pool = store(request).pool
    hosts = await numbered_hosts(pool)
    found = [(n, h) for n, h in hosts if host_uuid(h.name, "service") == service_id]
    if not found:
        raise NotFound(f"Service {service_id} could not be found.")
    [(number, host)] = found
    if body.forced_down:
        raise NotSupported("Forcing a compute service down is not supported.")
    if body.status is not None:
        enabled = body.status == "enabled"
        changed = ev.HostStatusChanged(host=host.name, enabled=enabled, reason=body.disabled_reason)
        await record(request, f"host-{host.name}", [changed])
        host = await get(pool, Host, host.name) or host
    up = await hosts_up(pool, [host.name])
    return json_response({"service": view(request, number, host, up)})
