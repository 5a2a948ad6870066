"""POST /v2.1/servers/{id}/action: each action checks the server's state as Nova does,
then records the request; the host's reactor carries it out and records the result."""

import re
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from aiohttp import web
from msgspec import UNSET, UnsetType

from events.store import StreamAppend
from events.types import Event
from service.auth import caller
from service.compute import config_drive, quota
from service.compute import events as ev
from service.compute.api.diagnostics import guest_hypervisor
from service.compute.api.microversion import Microversion, version_of
from service.compute.api.params import unexpected
from service.compute.api.server_request import check_trusted_certificates
from service.compute.api.servers import (
    Alongside,
    _flavor,
    _image,
    act,
    basic_body,
    own_keypair,
    refuse_busy,
    require_member,
    visible_server,
)
from service.compute.api.snapshots import create_backup, create_image
from service.compute.config_drive import user_data_bytes
from service.compute.directory import Server, get_server
from service.compute.hypervisor import HypervisorError
from service.compute.policy_rules import authorize
from service.errors import BadRequest, Conflict, NotFound, NotSupported
from service.http.body import json_response, read_json
from service.http.keys import AUDIT_ACTION, SETTINGS
from service.http.recording import store
from service.network import nova as networking

ROUTES = web.RouteTableDef()


Handler = Callable[[web.Request, str, Any], Awaitable[web.Response]]

# action -> (vm states it may start from, the task state it sets, event action name)
_POWER: dict[str, tuple[frozenset[str], str, str]] = {
    "os-stop": (frozenset({"active", "error", "rescued"}), "powering-off", "stop"),
    "os-start": (frozenset({"stopped"}), "powering-on", "start"),
    "pause": (frozenset({"active"}), "pausing", "pause"),
    "unpause": (frozenset({"paused"}), "unpausing", "unpause"),
    "suspend": (frozenset({"active"}), "suspending", "suspend"),
    "resume": (frozenset({"suspended"}), "resuming", "resume"),
}
_SETTLED = frozenset({"active", "stopped", "paused", "suspended", "resized", "error"})
"""The states of a server with a guest defined on its host."""
DISK_CONFIG = "OS-DCF:diskConfig"
_REBOOTABLE = {
    "SOFT": frozenset({"active"}),
    "HARD": frozenset({"active", "stopped", "error", "paused", "suspended"}),
}


def _unlocked(request: web.Request, server: Server) -> None:
    if server.locked and not caller(request).is_admin:
        raise Conflict(f"Instance {server.id} is locked")


async def _request(
    request: web.Request,
    server_id: str,
    action: str,
    allowed: frozenset[str],
    task_state: str | None,
    params: dict[str, Any] | None = None,
    alongside: Alongside | None = None,
    user_data: str | None | UnsetType = UNSET,
) -> Server:
    def decide(server: Server) -> list[Event]:
        _unlocked(request, server)
        refuse_busy(server, action, allowed)
        if server.host is None:  # no host would ever carry it out (Nova's InstanceNotReady)
            raise Conflict(f"Instance {server.id} is not ready")
        requested = ev.ServerActionRequested(
            server_id=server.id,
            action=action,
            task_state=task_state,
            params=params or {},
            user_data=user_data,
        )
        return [requested]

    return await act(request, server_id, decide, alongside)


async def power(request: web.Request, server_id: str, key: str, body: Any) -> web.Response:
    allowed, task_state, action = _POWER[key]
    await _request(request, server_id, action, allowed, task_state)
    return web.Response(status=202)


async def reboot(request: web.Request, server_id: str, body: Any) -> web.Response:
    kind = str((body or {}).get("type", "")).upper()
    if kind not in _REBOOTABLE:
        raise BadRequest("Invalid input for field/attribute type: must be SOFT or HARD.")
    task = "rebooting" if kind == "SOFT" else "rebooting_hard"
    await _request(request, server_id, "reboot", _REBOOTABLE[kind], task, {"type": kind})
    return web.Response(status=202)


def _disk_config(body: dict[str, Any]) -> dict[str, str]:
    """The `disk_config` param an action's OS-DCF:diskConfig asks for (none if absent)."""
    if DISK_CONFIG not in body:
        return {}
    if body[DISK_CONFIG] not in ("AUTO", "MANUAL"):
        raise BadRequest(f"Invalid input for field/attribute {DISK_CONFIG}: AUTO or MANUAL.")
    return {"disk_config": body[DISK_CONFIG]}


def _rebuild_user_data(body: dict[str, Any], version: Microversion) -> str | None | UnsetType:
    """The user data a rebuild gives the server (2.57; None removes it, UNSET keeps it);
    BadRequest (400) for personality files from 2.57, user data before or not base64."""
    if "personality" in body and version.at_least("2.57"):
        raise unexpected("personality")
    if "user_data" not in body:
        return UNSET
    if not version.at_least("2.57"):
        raise unexpected("user_data")
    given = body["user_data"]
    if given is not None and (
        not isinstance(given, str) or len(given) > 65535 or user_data_bytes(given) is None
    ):
        raise BadRequest("Invalid input for field/attribute user_data: not base64.")
    return given


async def _rebuild_key(
    request: web.Request, body: dict[str, Any], version: Microversion
) -> dict[str, Any]:
    """The params of a rebuild's key pair (2.54): its name, with a copy of its public key
    and type (all None: no key pair); none if the rebuild keeps the server's. BadRequest
    (400) before 2.54, or for a name the caller has no key pair of."""
    if "key_name" not in body:
        return {}
    if not version.at_least("2.54"):
        raise unexpected("key_name")
    given = body["key_name"]
    keypair = await own_keypair(request, None if given is None else str(given))
    if keypair is None:
        return {"key_name": None, "public_key": None, "key_type": None}
    return {"key_name": keypair.name, "public_key": keypair.public_key, "key_type": keypair.type}


def _gives_config_drive(
    request: web.Request, server: Server, params: dict[str, Any], user_data: str | None | UnsetType
) -> bool:
    """Whether a rebuild gives a server without a config drive one: when the server will
    carry a key pair or user data and KUMO_FORCE_CONFIG_DRIVE is unset (as
    config_drive.required says of a launched server)."""
    if server.config_drive:
        return False
    key = params["public_key"] if "key_name" in params else server.public_key
    data = server.user_data if isinstance(user_data, UnsetType) else user_data
    force = request.config_dict[SETTINGS].force_config_drive
    carries = key is not None or data is not None
    return config_drive.required(False, force, carries=carries, launched=True)


async def rebuild(request: web.Request, server_id: str, body: Any) -> web.Response:
    if not isinstance(body, dict) or "imageRef" not in body:
        raise BadRequest("Invalid input for field/attribute rebuild: imageRef is required.")
    server = await visible_server(request, server_id)
    version = version_of(request)
    image_id = await _image(request, str(body["imageRef"]), server.flavor)
    params: dict[str, Any] = {"image_id": image_id} | _disk_config(body)
    for key in ("name", "metadata", "adminPass", "description"):
        if key in body:
            params[key] = body[key]
    user_data = _rebuild_user_data(body, version)
    check_trusted_certificates(version, body.get("trusted_image_certificates", UNSET))
    params |= await _rebuild_key(request, body, version)
    if _gives_config_drive(request, server, params, user_data):
        params["config_drive"] = True
    await _request(
        request,
        server_id,
        "rebuild",
        frozenset({"active", "stopped", "error"}),
        "rebuilding",
        params,
        user_data=user_data,
    )
    rebuilt = await get_server(store(request).pool, server_id)
    assert rebuilt is not None
    shown = await basic_body(request, rebuilt) | {
        "adminPass": str(body.get("adminPass") or secrets.token_urlsafe(9))
    }
    if version.at_least("2.54"):
        shown["key_name"] = rebuilt.key_name
    if version.at_least("2.57"):
        shown["user_data"] = rebuilt.user_data
    return json_response({"server": shown}, status=202)


async def resize(request: web.Request, server_id: str, body: Any) -> web.Response:
    if not isinstance(body, dict) or "flavorRef" not in body:
        raise BadRequest("Invalid input for field/attribute resize: flavorRef is required.")
    server = await visible_server(request, server_id)
    flavor = await _flavor(request, body["flavorRef"])
    if flavor.id == server.flavor.id:
        raise BadRequest("When resizing, instances must change flavor!")
    params = {"flavor": msgspec.to_builtins(flavor)} | _disk_config(body)

    async def claim_growth(server: Server) -> list[StreamAppend]:
        cores, ram = _growth(server.flavor, flavor)
        if not (cores or ram):
            return []
        return [await quota.claim(store(request), server.project_id, server.id, 0, cores, ram)]

    allowed = frozenset({"active", "stopped"})
    await _request(request, server_id, "resize", allowed, "resize_prep", params, claim_growth)
    return web.Response(status=202)


def _growth(before: ev.FlavorSnapshot, after: ev.FlavorSnapshot) -> tuple[int, int]:
    """The cores and RAM `after` takes beyond `before` (none where it takes less)."""
    return max(after.vcpus - before.vcpus, 0), max(after.ram - before.ram, 0)


def _release(server: Server, cores: int, ram: int) -> list[StreamAppend]:
    if not (cores or ram):
        return []
    released = ev.ResourcesReleased(
        project_id=server.project_id, server_id=server.id, instances=0, cores=cores, ram=ram
    )
    return [StreamAppend(quota.stream(server.project_id), [released])]


async def confirm_resize(request: web.Request, server_id: str, body: Any) -> web.Response:
    """The server keeps its new flavor: what only the old one took of the quota (held
    while the resize waited) is given back."""

    async def release_shrink(server: Server) -> list[StreamAppend]:
        assert server.previous_flavor is not None
        return _release(server, *_growth(server.flavor, server.previous_flavor))

    allowed = frozenset({"resized"})
    await _request(request, server_id, "confirmResize", allowed, None, None, release_shrink)
    return web.Response(status=204)


async def revert_resize(request: web.Request, server_id: str, body: Any) -> web.Response:
    """The server goes back to its old flavor: what the resize claimed is given back."""

    async def release_growth(server: Server) -> list[StreamAppend]:
        assert server.previous_flavor is not None
        return _release(server, *_growth(server.previous_flavor, server.flavor))

    allowed = frozenset({"resized"})
    await _request(
        request, server_id, "revertResize", allowed, "resize_reverting", None, release_growth
    )
    return web.Response(status=202)


async def reset_state(request: web.Request, server_id: str, body: Any) -> web.Response:
    """os-resetState (admin): the server ACTIVE or ERROR with no task, whatever it was
    doing, for an operator to un-stick it; the hypervisor is not asked."""
    authorize(request, "os_compute_api:os-admin-actions:reset_state")
    state = (body or {}).get("state") if isinstance(body, dict) else None
    if state not in ("active", "error"):
        raise BadRequest("Invalid input for field/attribute state: active or error.")

    def decide(server: Server) -> list[Event]:
        return [ev.ServerStateReset(server_id=server.id, vm_state=state)]

    await act(request, server_id, decide)
    return web.Response(status=202)


async def inject_network_info(request: web.Request, server_id: str, body: Any) -> web.Response:
    """injectNetworkInfo (admin): recorded as an instance action its host finishes; the
    guest reads its network from DHCP and its config drive, so there is nothing to push."""
    authorize(request, "os_compute_api:os-admin-actions:inject_network_info")
    await _request(request, server_id, "injectNetworkInfo", _SETTLED, None)
    return web.Response(status=202)


async def restore(request: web.Request, server_id: str, body: Any) -> web.Response:
    """restore brings back a SOFT_DELETED server; Kumo deletes at once (no deferred
    delete), so no server ever is one: 409, as Nova answers for any other state."""
    server = await visible_server(request, server_id)
    require_member(caller(request), server)
    raise Conflict(
        f"Cannot 'restore' instance {server.id} while it is in vm_state {server.vm_state}"
    )


async def lock(request: web.Request, server_id: str, body: Any) -> web.Response:
    """Lock the server; from 2.73 with a `locked_reason` (the body is ignored before,
    as Nova ignores it)."""
    ctx = caller(request)
    reason = _lock_reason(body) if version_of(request).at_least("2.73") else None

    def decide(server: Server) -> list[Event]:
        by = "admin" if ctx.is_admin else "owner"
        return [ev.ServerLocked(server_id=server.id, locked_by=by, reason=reason)]

    await act(request, server_id, decide)
    return web.Response(status=202)


def _lock_reason(body: Any) -> str | None:
    """The reason a 2.73 lock gives (null or an object with only `locked_reason`, 1 to
    255 characters); BadRequest (400) otherwise."""
    if body is None:
        return None
    if not isinstance(body, dict) or set(body) - {"locked_reason"}:
        raise BadRequest(f"Invalid input for field/attribute lock. Value: {body}.")
    if "locked_reason" not in body:
        return None
    reason = body["locked_reason"]
    if not isinstance(reason, str) or not 1 <= len(reason) <= 255:
        raise BadRequest(f"Invalid input for field/attribute locked_reason. Value: {reason}.")
    return reason


async def unlock(request: web.Request, server_id: str, body: Any) -> web.Response:
    ctx = caller(request)

    def decide(server: Server) -> list[Event]:
        if server.locked and server.locked_by == "admin" and not ctx.is_admin:
            raise Conflict(f"Instance {server.id} was locked by an administrator")
        return [ev.ServerUnlocked(server_id=server.id)] if server.locked else []

    await act(request, server_id, decide)
    return web.Response(status=202)


async def security_group(request: web.Request, server_id: str, key: str, body: Any) -> web.Response:
    name = (body or {}).get("name") if isinstance(body, dict) else None
    if not name:
        raise BadRequest("Security group name cannot be empty")
    name = str(name)
    server = await visible_server(request, server_id)
    exists = await store(request).pool.fetchval(
        "SELECT true FROM rm_security_groups WHERE project_id = $1 AND name = $2",
        server.project_id,
        name,
    )
    if not exists and name != "default":
        raise NotFound(f"Security group {name} not found for project {server.project_id}.")
    adding = key == "addSecurityGroup"

    def decide(current: Server) -> list[Event]:
        present = name in current.security_groups
        if adding and not present:
            return [ev.ServerSecurityGroupAdded(server_id=current.id, name=name)]
        if not adding and present:
            return [ev.ServerSecurityGroupRemoved(server_id=current.id, name=name)]
        if not adding:
            raise BadRequest(f"Security group {name} not associated with the instance {current.id}")
        return []

    await act(request, server_id, decide)
    changed = await visible_server(request, server_id)
    await networking.follow_security_groups(
        request, changed.id, changed.project_id, changed.security_groups
    )
    return web.Response(status=202)


async def floating_ip(request: web.Request, server_id: str, key: str, body: Any) -> web.Response:
    """addFloatingIp / removeFloatingIp: Nova's proxy to the network service, gone at 2.44."""
    if version_of(request).at_least("2.44"):
        raise NotFound("The resource could not be found.")
    ctx = caller(request)
    server = await visible_server(request, server_id)
    require_member(ctx, server)
    if key == "addFloatingIp":
        await networking.add_floating_ip(request, ctx, server.id, server.project_id, body)
    else:
        await networking.remove_floating_ip(request, server.id, server.project_id, body)
    return web.Response(status=202)


async def console_output(request: web.Request, server_id: str, body: Any) -> web.Response:
    """The guest's serial console, its last `length` lines if asked (Nova's shape)."""
    length = (body or {}).get("length") if isinstance(body, dict) else None
    try:
        lines = None if length is None else int(length)
    except (TypeError, ValueError):
        raise BadRequest(f"Invalid input for field/attribute length: {length}") from None
    if lines is not None and lines < -1:
        raise BadRequest("Invalid input for field/attribute length: must be >= -1.")
    server = await visible_server(request, server_id)
    hypervisor = guest_hypervisor(request, server, "console")
    try:
        output = await hypervisor.console_output(server.id)
    except HypervisorError as error:
        raise Conflict(f"Cannot read the console of instance {server.id}: {error}") from None
    if lines is not None and lines >= 0:
        output = "".join(output.splitlines(keepends=True)[-lines:]) if lines else ""
    return json_response({"output": output})


_ACTION_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
"""What an action's name may look like to be recorded as the audit action's qualifier."""

_SIMPLE: dict[str, Handler] = {
    "os-getConsoleOutput": console_output,
    "createImage": create_image,
    "createBackup": create_backup,
    "reboot": reboot,
    "rebuild": rebuild,
    "resize": resize,
    "confirmResize": confirm_resize,
    "revertResize": revert_resize,
    "lock": lock,
    "os-resetState": reset_state,
    "injectNetworkInfo": inject_network_info,
    "restore": restore,
    "unlock": unlock,
}


@ROUTES.post("/v2.1/servers/{server_id}/action")
async def server_action(request: web.Request) -> web.Response:
    body = await read_json(request, dict[str, Any])
    if len(body) != 1:
        raise BadRequest("An action body names exactly one action.")
    [(key, value)] = body.items()
    if _ACTION_NAME.fullmatch(key):
        request[AUDIT_ACTION] = key
    server_id = request.match_info["server_id"]
    await visible_server(request, server_id)
    if key in _POWER:
        return await power(request, server_id, key, value)
    if key in ("addSecurityGroup", "removeSecurityGroup"):
        return await security_group(request, server_id, key, value)
    if key in ("addFloatingIp", "removeFloatingIp"):
        return await floating_ip(request, server_id, key, value)
    if key in ("addFixedIp", "removeFixedIp") and version_of(request).at_least("2.44"):
        raise NotFound("The resource could not be found.")  # Nova's network proxies, gone
    if key == "changePassword":
        raise NotSupported("Unable to set password on instance: no guest agent.")
    handler = _SIMPLE.get(key)
    if handler is None:
        raise BadRequest(f"There is no such action: {key}")
    return await handler(request, server_id, value)
