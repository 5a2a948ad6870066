"""/v2.0/quotas: a project's network limits (show, defaults, details with usage), set and
reset by an admin, and the projects whose limits differ from the defaults."""

from typing import Any

import msgspec
from aiohttp import web

from service.compute import events as cev
from service.compute import quota as compute_quota
from service.errors import BadRequest
from service.http.body import json_response
from service.http.recording import record, store
from service.network import quota
from service.network.api.common import one, read_changes
from service.network.policy_rules import authorize

ROUTES = web.RouteTableDef()


async def _limits(request: web.Request, project_id: str) -> dict[str, int]:
    return await quota.limits(store(request).pool, project_id)


@ROUTES.get("/v2.0/quotas")
async def list_quotas(request: web.Request) -> web.Response:
    """Projects with limits of their own (an admin sees all, others their own)."""
    ctx = authorize(request, "get_quota")
    rows = await store(request).pool.fetch(
        "SELECT DISTINCT project_id FROM rm_quota_limits l WHERE resource = ANY($1)"
        " AND hard_limit <> ($2::jsonb ->> resource)::int ORDER BY project_id",
        list(quota.DEFAULTS),
        msgspec.json.encode(quota.DEFAULTS),
    )
    projects = [r["project_id"] for r in rows if ctx.is_admin or r["project_id"] == ctx.project_id]
    items = [await _limits(request, p) | {"project_id": p, "tenant_id": p} for p in projects]
    return json_response({"quotas": items})


@ROUTES.get("/v2.0/quotas/{project_id}")
async def show_quota(request: web.Request) -> web.Response:
    project_id = request.match_info["project_id"]
    authorize(request, "get_quota", {"project_id": project_id})
    return one("quota", await _limits(request, project_id))


@ROUTES.get("/v2.0/quotas/{project_id}/default")
async def show_default_quota(request: web.Request) -> web.Response:
    authorize(request, "get_quota", {"project_id": request.match_info["project_id"]})
    return one("quota", dict(quota.DEFAULTS))


@ROUTES.get("/v2.0/quotas/{project_id}/details")
async def show_quota_details(request: web.Request) -> web.Response:
    """Each limit with what the project uses of it."""
    project_id = request.match_info["project_id"]
    authorize(request, "get_quota", {"project_id": project_id})
    limits = await _limits(request, project_id)
    used = await quota.used(store(request).pool, project_id)
    details = {
        name: {"limit": limit, "used": used[name], "reserved": 0} for name, limit in limits.items()
    }
    return one("quota", details)


@ROUTES.put("/v2.0/quotas/{project_id}")
async def update_quota(request: web.Request) -> web.Response:
    """Set limits (admin): non-negative integers or -1 for no limit."""
    project_id = request.match_info["project_id"]
    authorize(request, "update_quota", {"project_id": project_id})
    asked: dict[str, Any] = await read_changes(request, "quota", dict[str, Any])
    asked.pop("force", None)
    for name, value in asked.items():
        if name not in quota.DEFAULTS:
            raise BadRequest(f"Unrecognized attribute(s) '{name}'")
        if isinstance(value, bool) or not isinstance(value, int | str) or not _integer(value):
            raise BadRequest(f"Invalid input for {name}. Reason: '{value}' is not an integer.")
    limits = {name: int(value) for name, value in asked.items()}
    if limits:
        event = cev.QuotaLimitsSet(project_id=project_id, limits=limits)
        await record(request, compute_quota.stream(project_id), [event])
    return one("quota", await _limits(request, project_id))


def _integer(value: int | str) -> bool:
    try:
        return int(value) >= quota.UNLIMITED
    except ValueError:
        return False


@ROUTES.delete("/v2.0/quotas/{project_id}")
async def delete_quota(request: web.Request) -> web.Response:
    """Back to the defaults: 204."""
    project_id = request.match_info["project_id"]
    authorize(request, "delete_quota", {"project_id": project_id})
    event = cev.QuotaLimitsSet(project_id=project_id, limits=dict(quota.DEFAULTS))
    await record(request, compute_quota.stream(project_id), [event])
    return web.Response(status=204)
