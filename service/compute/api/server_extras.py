"""What hangs off a server: tags (2.26), metadata, instance actions, its security groups
and its password (os-server-password)."""

import re
from datetime import datetime
from typing import Any, cast

import msgspec
from aiohttp import web

from events.types import Event
from service.auth import caller
from service.compute import events as ev
from service.compute.api import paging
from service.compute.api.microversion import Microversion, version_of
from service.compute.api.params import only
from service.compute.api.security_groups import nova_groups
from service.compute.api.servers import (
    MAX_TAGS,
    MetaKey,
    MetaValue,
    Tag,
    act,
    changes_window,
    visible_server,
)
from service.compute.directory import SecurityGroup, Server, get_server, select
from service.compute.policy_rules import authorize
from service.compute.server_view import host_id, nova_time
from service.errors import BadRequest, Forbidden, NotFound
from service.http.body import json_response, read_json
from service.http.recording import base_url, store

ROUTES = web.RouteTableDef()
_TAG = re.compile(r"^[^,/]{1,60}$")


class Tags(msgspec.Struct):
    tags: list[Tag]


class Metadata(msgspec.Struct):
    metadata: dict[MetaKey, MetaValue]


class MetaItem(msgspec.Struct):
    meta: dict[MetaKey, MetaValue]


def _tags_api(request: web.Request) -> None:
    if not version_of(request).at_least("2.26"):
        raise NotFound("The resource could not be found.")


async def _set_tags(request: web.Request, server_id: str, tags: list[str]) -> Server:
    if len(tags) > MAX_TAGS:
        raise BadRequest(f"The number of tags exceeded the per-server limit {MAX_TAGS}")

    def decide(server: Server) -> list[Event]:
        return [ev.ServerTagsSet(server_id=server.id, tags=tuple(dict.fromkeys(tags)))]

    return await act(request, server_id, decide)


@ROUTES.get("/v2.1/servers/{server_id}/tags")
async def list_tags(request: web.Request) -> web.Response:
    _tags_api(request)
    server = await visible_server(request, request.match_info["server_id"])
    return json_response({"tags": server.tags})


@ROUTES.put("/v2.1/servers/{server_id}/tags")
async def replace_tags(request: web.Request) -> web.Response:
    _tags_api(request)
    tags = (await read_json(request, Tags)).tags
    await _set_tags(request, request.match_info["server_id"], tags)
    return json_response({"tags": list(dict.fromkeys(tags))})


@ROUTES.delete("/v2.1/servers/{server_id}/tags")
async def clear_tags(request: web.Request) -> web.Response:
    _tags_api(request)
    await _set_tags(request, request.match_info["server_id"], [])
    return web.Response(status=204)


@ROUTES.get("/v2.1/servers/{server_id}/tags/{tag}")
async def check_tag(request: web.Request) -> web.Response:
    _tags_api(request)
    server = await visible_server(request, request.match_info["server_id"])
    if request.match_info["tag"] not in server.tags:
        raise NotFound(f"Tag {request.match_info['tag']} not found")
    return web.Response(status=204)


@ROUTES.put("/v2.1/servers/{server_id}/tags/{tag}")
async def add_tag(request: web.Request) -> web.Response:
    _tags_api(request)
    tag = request.match_info["tag"]
    if not _TAG.match(tag):
        raise BadRequest(f"Invalid tag: {tag}")
    server = await visible_server(request, request.match_info["server_id"])
    existed = tag in server.tags
    if not existed:
        await _set_tags(request, server.id, [*server.tags, tag])
    location = f"{base_url(request)}/compute/v2.1/servers/{server.id}/tags/{tag}"
    return web.Response(status=204 if existed else 201, headers={"Location": location})


@ROUTES.delete("/v2.1/servers/{server_id}/tags/{tag}")
async def remove_tag(request: web.Request) -> web.Response:
    _tags_api(request)
    tag = request.match_info["tag"]
    server = await visible_server(request, request.match_info["server_id"])
    if tag not in server.tags:
        raise NotFound(f"Tag {tag} not found")
    await _set_tags(request, server.id, [t for t in server.tags if t != tag])
    return web.Response(status=204)


# --- metadata --------------------------------------------------------------------------


async def _set_metadata(
    request: web.Request, items: dict[str, str], *, replace: bool
) -> dict[str, str]:
    def decide(server: Server) -> list[Event]:
        merged = items if replace else server.metadata | items
        if len(merged) > 128:
            raise Forbidden("Quota exceeded for metadata_items: limit is 128.")
        return [ev.ServerMetadataSet(server_id=server.id, items=items, replace=replace)]

    server = await act(request, request.match_info["server_id"], decide)
    return items if replace else server.metadata | items


@ROUTES.get("/v2.1/servers/{server_id}/metadata")
async def list_metadata(request: web.Request) -> web.Response:
    server = await visible_server(request, request.match_info["server_id"])
    return json_response({"metadata": server.metadata})


@ROUTES.post("/v2.1/servers/{server_id}/metadata")
async def update_metadata(request: web.Request) -> web.Response:
    items = (await read_json(request, Metadata)).metadata
    return json_response({"metadata": await _set_metadata(request, items, replace=False)})


@ROUTES.put("/v2.1/servers/{server_id}/metadata")
async def replace_metadata(request: web.Request) -> web.Response:
    items = (await read_json(request, Metadata)).metadata
    return json_response({"metadata": await _set_metadata(request, items, replace=True)})


@ROUTES.get("/v2.1/servers/{server_id}/metadata/{key}")
async def show_metadata_item(request: web.Request) -> web.Response:
    server = await visible_server(request, request.match_info["server_id"])
    key = request.match_info["key"]
    if key not in server.metadata:
        raise NotFound("Metadata item was not found")
    return json_response({"meta": {key: server.metadata[key]}})


@ROUTES.put("/v2.1/servers/{server_id}/metadata/{key}")
async def set_metadata_item(request: web.Request) -> web.Response:
    item = (await read_json(request, MetaItem)).meta
    key = request.match_info["key"]
    if list(item) != [key]:
        raise BadRequest("Request body and URI mismatch")
    await _set_metadata(request, item, replace=False)
    return json_response({"meta": item})


@ROUTES.delete("/v2.1/servers/{server_id}/metadata/{key}")
async def delete_metadata_item(request: web.Request) -> web.Response:
    key = request.match_info["key"]

    def decide(server: Server) -> list[Event]:
        if key not in server.metadata:
            raise NotFound("Metadata item was not found")
        return [ev.ServerMetadataItemDeleted(server_id=server.id, key=key)]

    await act(request, request.match_info["server_id"], decide)
    return web.Response(status=204)


# --- instance actions ------------------------------------------------------------------

_EVENT_NAMES = {"create": "compute__do_build_and_run_instance"}


def _action_view(row: Any, server_id: str, version: Microversion) -> dict[str, Any]:
    """An instance action (when it last changed from 2.58)."""
    body: dict[str, Any] = {
        "action": row["action"],
        "request_id": row["request_id"],
        "user_id": row["user_id"] or "",
        "project_id": row["project_id"],
        "start_time": nova_time(row["start_time"]),
        "message": row["message"],
        "instance_uuid": server_id,
    }
    if version.at_least("2.58"):
        body["updated_at"] = nova_time(_updated(row))
    return body


def _events(row: Any, server: Server, version: Microversion, admin: bool) -> list[dict[str, Any]]:
    """The action's event (Kumo records one per action): for admins with its traceback
    (Kumo keeps none: null), from 2.62 with the hashed id of the host it ran on, and
    that host's name for admins."""
    name = _EVENT_NAMES.get(row["action"], f"compute_{row['action'].lower()}_instance")
    event: dict[str, Any] = {
        "event": name,
        "start_time": nova_time(row["start_time"]),
        "finish_time": nova_time(row["finish_time"]),
        "result": row["result"],
    }
    if admin:
        event["traceback"] = None
    if version.at_least("2.62"):
        event["hostId"] = host_id(server)
        if admin:
            event["host"] = server.host
    return [event]


async def _actions_of(request: web.Request) -> Server:
    """The server for instance actions: deleted ones too, as Nova keeps their history."""
    server_id = request.match_info["server_id"]
    ctx = caller(request)
    server = await get_server(store(request).pool, server_id)
    if server is None or not (ctx.is_admin or server.project_id == ctx.project_id):
        raise NotFound(f"Instance {server_id} could not be found.")
    return server


def _updated(row: Any) -> datetime:
    """When the action last changed: its finish, else its start."""
    return cast(datetime, row["finish_time"] or row["start_time"])


_ACTION_QUERY = frozenset({"limit", "marker", "changes-since"})


@ROUTES.get("/v2.1/servers/{server_id}/os-instance-actions")
async def list_actions(request: web.Request) -> web.Response:
    """The server's actions, newest first; from 2.58 in pages (`limit`, `marker`: a
    request id) of those changed since `changes-since` (and before `changes-before`,
    2.66)."""
    server = await _actions_of(request)
    version = version_of(request)
    rows = await store(request).pool.fetch(
        "SELECT * FROM rm_instance_actions WHERE server_id = $1 ORDER BY position DESC", server.id
    )
    if not version.at_least("2.58"):
        return json_response(
            {"instanceActions": [_action_view(r, server.id, version) for r in rows]}
        )
    allowed = _ACTION_QUERY | ({"changes-before"} if version.at_least("2.66") else set())
    only(request.query, allowed)
    since, before = changes_window(request)
    rows = [
        r
        for r in rows
        if (since is None or _updated(r) >= since) and (before is None or _updated(r) <= before)
    ]
    shown = paging.page(request, rows, _request_id)
    body: dict[str, Any] = {"instanceActions": [_action_view(r, server.id, version) for r in shown]}
    links = paging.next_link(request, shown, _request_id)
    return json_response(body | ({"links": links} if links else {}))


def _request_id(row: Any) -> str:
    return str(row["request_id"])


@ROUTES.get("/v2.1/servers/{server_id}/os-instance-actions/{request_id}")
async def show_action(request: web.Request) -> web.Response:
    server = await _actions_of(request)
    row = await store(request).pool.fetchrow(
        "SELECT * FROM rm_instance_actions WHERE server_id = $1 AND request_id = $2"
        " ORDER BY position LIMIT 1",
        server.id,
        request.match_info["request_id"],
    )
    if row is None:
        raise NotFound(f"Action {request.match_info['request_id']} could not be found.")
    # Nova shows the events to admins only (the events policy) before 2.51, to everyone
    # after, their tracebacks still to admins only
    admin, version = caller(request).is_admin, version_of(request)
    shown = _action_view(row, server.id, version)
    if admin or version.at_least("2.51"):
        shown["events"] = _events(row, server, version, admin)
    return json_response({"instanceAction": shown})


# --- security groups of a server ---------------------------------------------------------


@ROUTES.get("/v2.1/servers/{server_id}/os-security-groups")
async def server_security_groups(request: web.Request) -> web.Response:
    server = await visible_server(request, request.match_info["server_id"])
    groups = await select(
        store(request).pool,
        SecurityGroup,
        "project_id = $1 AND name = ANY($2)",
        server.project_id,
        server.security_groups,
    )
    return json_response({"security_groups": await nova_groups(request, groups)})


# --- os-server-password ----------------------------------------------------------------


@ROUTES.get("/v2.1/servers/{server_id}/os-server-password")
async def show_password(request: web.Request) -> web.Response:
    """The password the guest posted, encrypted with its key pair: Kumo has no metadata
    service for a guest to post one to, so it is always empty, as Nova's before one is."""
    server = await visible_server(request, request.match_info["server_id"])
    authorize(request, "os_compute_api:os-server-password:show", {"project_id": server.project_id})
    return json_response({"password": ""})


@ROUTES.delete("/v2.1/servers/{server_id}/os-server-password")
async def clear_password(request: web.Request) -> web.Response:
    """Forget the posted password (there is none to forget): 204."""
    server = await visible_server(request, request.match_info["server_id"])
    authorize(request, "os_compute_api:os-server-password:clear", {"project_id": server.project_id})
    return web.Response(status=204)
