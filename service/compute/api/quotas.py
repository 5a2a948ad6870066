"""/v2.1/os-quota-sets (show, defaults, detail with usage, update and delete by an admin),
/v2.1/os-quota-class-sets (the default class's limits are every project's defaults) and
/v2.1/limits: a project's compute limits and what it uses of them."""

from typing import Any

import msgspec
from aiohttp import web

from service.compute import events as ev
from service.compute import quota
from service.compute.api.microversion import Microversion, version_of
from service.compute.api.params import boolean, integer
from service.compute.directory import (
    Keypair,
    SecurityGroup,
    SecurityGroupRule,
    ServerGroup,
    count,
    usage,
)
from service.compute.policy_rules import authorize
from service.errors import BadRequest
from service.http.body import json_response, read_json
from service.http.recording import record, store

ROUTES = web.RouteTableDef()

REMOVED: tuple[tuple[str, frozenset[str]], ...] = (
    ("2.36", frozenset({"floating_ips", "fixed_ips", "security_groups", "security_group_rules"})),
    ("2.57", frozenset({"injected_files", "injected_file_content_bytes",
                        "injected_file_path_bytes"})),
)  # fmt: skip
"""Quota resources Nova stopped showing at a microversion (network proxies, personality)."""
CLASS_REMOVED: tuple[tuple[str, frozenset[str]], ...] = (
    ("2.50", REMOVED[0][1]),
    ("2.57", REMOVED[1][1]),
)
"""The same for quota classes, which dropped the network proxies' later."""
CLASS_ADDED = ("2.50", frozenset({"server_groups", "server_group_members"}))
"""Quota resources a quota class shows only from a microversion on."""

ABSOLUTE: tuple[tuple[str, str, str | None], ...] = (
    # (limits name, quota resource, microversion that dropped it)
    ("maxTotalInstances", "instances", None),
    ("maxTotalCores", "cores", None),
    ("maxTotalRAMSize", "ram", None),
    ("maxServerMeta", "metadata_items", None),
    ("maxImageMeta", "metadata_items", "2.39"),
    ("maxPersonality", "injected_files", "2.57"),
    ("maxPersonalitySize", "injected_file_content_bytes", "2.57"),
    ("maxTotalKeypairs", "key_pairs", None),
    ("maxServerGroups", "server_groups", None),
    ("maxServerGroupMembers", "server_group_members", None),
    ("maxTotalFloatingIps", "floating_ips", "2.36"),
    ("maxSecurityGroups", "security_groups", "2.36"),
    ("maxSecurityGroupRules", "security_group_rules", "2.36"),
)
USED: tuple[tuple[str, str, str | None], ...] = (
    ("totalInstancesUsed", "instances", None),
    ("totalCoresUsed", "cores", None),
    ("totalRAMUsed", "ram", None),
    ("totalServerGroupsUsed", "server_groups", None),
    ("totalFloatingIpsUsed", "floating_ips", "2.36"),
    ("totalSecurityGroupsUsed", "security_groups", "2.36"),
)


Amount = int | str | bool
"""A limit as given: an integer or a string of one (a boolean is refused, or `force`)."""


class QuotaUpdate(msgspec.Struct):
    quota_set: dict[str, Amount]


class QuotaClassUpdate(msgspec.Struct):
    quota_class_set: dict[str, Amount]


def resources(
    version: Microversion, removed: tuple[tuple[str, frozenset[str]], ...] = REMOVED
) -> list[str]:
    """The quota resources Nova shows at `version` (of quota sets; of classes with
    `removed=CLASS_REMOVED`)."""
    gone = set().union(*(names for since, names in removed if version.at_least(since)))
    if removed is CLASS_REMOVED and not version.at_least(CLASS_ADDED[0]):
        gone |= CLASS_ADDED[1]
    return [name for name in quota.DEFAULTS if name not in gone]


def asked_limits(asked: dict[str, Amount], known: list[str]) -> dict[str, int]:
    """The limits an update asks for (`force` aside); BadRequest (400) for a resource not
    in `known` or a value that is not an integer from -1 (unlimited) up."""
    limits = {}
    for name, value in asked.items():
        if name not in known:
            raise BadRequest(f"Additional properties are not allowed ('{name}' was unexpected)")
        if isinstance(value, bool):
            raise BadRequest(f"Invalid input for field/attribute {name}. Value: {value}.")
        limits[name] = integer(name, value, quota.UNLIMITED, signed=True)
    return limits


async def in_use(request: web.Request, project_id: str, user_id: str) -> dict[str, int]:
    """What the project (and, for keypairs, the user) uses of each quota resource."""
    pool = store(request).pool
    held = await usage(pool, project_id)
    used = dict.fromkeys(quota.DEFAULTS, 0)
    used |= {"instances": held.instances, "cores": held.cores, "ram": held.ram}
    used["key_pairs"] = await count(pool, Keypair, "user_id = $1", user_id)
    used["server_groups"] = await count(pool, ServerGroup, "project_id = $1", project_id)
    used["security_groups"] = await count(pool, SecurityGroup, "project_id = $1", project_id)
    used["security_group_rules"] = await count(
        pool, SecurityGroupRule,
        "group_id IN (SELECT id FROM rm_security_groups WHERE project_id = $1)", project_id,
    )  # fmt: skip
    return used


def _quota_set(request: web.Request, values: dict[str, Any], project_id: str | None) -> Any:
    shown = {name: values[name] for name in resources(version_of(request))}
    return {"quota_set": shown if project_id is None else {"id": project_id} | shown}


@ROUTES.get("/v2.1/os-quota-sets/{project_id}")
async def show_quota_set(request: web.Request) -> web.Response:
    project_id = request.match_info["project_id"]
    authorize(request, "os_compute_api:os-quota-sets:show", {"project_id": project_id})
    limits = await quota.limits(store(request).pool, project_id)
    return json_response(_quota_set(request, limits, project_id))


@ROUTES.get("/v2.1/os-quota-sets/{project_id}/defaults")
async def show_default_quota_set(request: web.Request) -> web.Response:
    authorize(request, "os_compute_api:os-quota-sets:defaults")
    defaults = await quota.class_limits(store(request).pool, quota.DEFAULT_CLASS)
    return json_response(_quota_set(request, defaults, request.match_info["project_id"]))


@ROUTES.get("/v2.1/os-quota-sets/{project_id}/detail")
async def show_quota_set_detail(request: web.Request) -> web.Response:
    project_id = request.match_info["project_id"]
    ctx = authorize(request, "os_compute_api:os-quota-sets:detail", {"project_id": project_id})
    limits = await quota.limits(store(request).pool, project_id)
    used = await in_use(request, project_id, request.query.get("user_id", ctx.user_id))
    details = {
        name: {"limit": limits[name], "in_use": used[name], "reserved": 0} for name in limits
    }
    return json_response(_quota_set(request, details, project_id))


@ROUTES.put("/v2.1/os-quota-sets/{project_id}")
async def update_quota_set(request: web.Request) -> web.Response:
    """Set limits (admin); lowering one below what is in use is refused unless `force`."""
    project_id = request.match_info["project_id"]
    ctx = authorize(request, "os_compute_api:os-quota-sets:update", {"project_id": project_id})
    asked = dict((await read_json(request, QuotaUpdate)).quota_set)
    force = boolean("force", asked.pop("force", False))
    limits = asked_limits(asked, resources(version_of(request)))
    if not force:
        used = await in_use(request, project_id, request.query.get("user_id", ctx.user_id))
        for name, value in limits.items():
            if value != quota.UNLIMITED and value < used[name]:
                raise BadRequest(
                    f"Quota limit {value} for {name} must be greater than or equal to already "
                    f"used and reserved {used[name]}."
                )
    if limits:
        event = ev.QuotaLimitsSet(project_id=project_id, limits=limits)
        await record(request, quota.stream(project_id), [event])
    current = await quota.limits(store(request).pool, project_id)
    return json_response(_quota_set(request, current, None))


@ROUTES.delete("/v2.1/os-quota-sets/{project_id}")
async def delete_quota_set(request: web.Request) -> web.Response:
    """Forget the limits an admin set: the project has the defaults again (202)."""
    project_id = request.match_info["project_id"]
    authorize(request, "os_compute_api:os-quota-sets:delete", {"project_id": project_id})
    event = ev.QuotaLimitsDeleted(project_id=project_id, resources=tuple(quota.DEFAULTS))
    await record(request, quota.stream(project_id), [event])
    return web.Response(status=202)


def _class_set(request: web.Request, quota_class: str | None, values: dict[str, int]) -> Any:
    shown = {name: values[name] for name in resources(version_of(request), CLASS_REMOVED)}
    return {"quota_class_set": shown if quota_class is None else {"id": quota_class} | shown}


@ROUTES.get("/v2.1/os-quota-class-sets/{quota_class}")
async def show_quota_class_set(request: web.Request) -> web.Response:
    authorize(request, "os_compute_api:os-quota-class-sets:show")
    quota_class = request.match_info["quota_class"]
    limits = await quota.class_limits(store(request).pool, quota_class)
    return json_response(_class_set(request, quota_class, limits))


@ROUTES.put("/v2.1/os-quota-class-sets/{quota_class}")
async def update_quota_class_set(request: web.Request) -> web.Response:
    """Set a class's limits (admin); the `default` class's are every project's defaults."""
    authorize(request, "os_compute_api:os-quota-class-sets:update")
    quota_class = request.match_info["quota_class"]
    if len(quota_class) > 255:
        raise BadRequest("quota_class_name has more than 255 characters.")
    asked = (await read_json(request, QuotaClassUpdate)).quota_class_set
    limits = asked_limits(asked, resources(version_of(request), CLASS_REMOVED))
    if limits:
        event = ev.QuotaClassLimitsSet(quota_class=quota_class, limits=limits)
        await record(request, f"quotaclass-{quota_class}", [event])
    current = await quota.class_limits(store(request).pool, quota_class)
    return json_response(_class_set(request, None, current))


@ROUTES.get("/v2.1/limits")
async def show_limits(request: web.Request) -> web.Response:
    """The caller's project's limits and usage (an admin may name another: `tenant_id`)."""
    ctx = authorize(request, "os_compute_api:limits")
    project_id = request.query.get("tenant_id") or ctx.project_id or ""
    if project_id != ctx.project_id:
        authorize(request, "os_compute_api:limits:other_project", {"project_id": project_id})
    limits = await quota.limits(store(request).pool, project_id)
    used = await in_use(request, project_id, ctx.user_id)
    version = version_of(request)
    absolute = {
        name: values[resource]
        for table, values in ((ABSOLUTE, limits), (USED, used))
        for name, resource, dropped in table
        if dropped is None or not version.at_least(dropped)
    }
    return json_response({"limits": {"absolute": absolute, "rate": []}})
