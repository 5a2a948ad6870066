"""POST /v2.1/os-server-external-events (admin or service role): what the network service
tells Nova of a server's ports. Kumo's network service is built in and acts on its ports
itself, so an event is acknowledged (code 200) for a server placed on a host, 404 for an
unknown one and 422 for one no host has; nothing else changes."""

from typing import Annotated, Literal

import msgspec
from aiohttp import web
from msgspec import UNSET, Meta, UnsetType

from service.compute.api.microversion import version_of
from service.compute.api.params import UUID_PATTERN
from service.compute.directory import Server, select
from service.compute.policy_rules import authorize
from service.errors import BadRequest, NotFound
from service.http.body import json_response, read_json
from service.http.recording import store

ROUTES = web.RouteTableDef()

Uuid = Annotated[str, Meta(pattern=UUID_PATTERN)]


NAMES = ("network-changed", "network-vif-plugged", "network-vif-unplugged", "network-vif-deleted")
LATER_NAMES = {"volume-extended": "2.51"}
"""The event names a microversion added: Kumo has no volumes, so the event is only
acknowledged, as all others."""


class ExternalEvent(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    server_uuid: Uuid
    status: Literal["failed", "completed", "in-progress"] = "completed"
    tag: Annotated[str, Meta(max_length=255)] | UnsetType = UNSET


class ExternalEvents(msgspec.Struct, forbid_unknown_fields=True):
    events: Annotated[list[ExternalEvent], Meta(min_length=1)]


@ROUTES.post("/v2.1/os-server-external-events")
async def create_external_events(request: web.Request) -> web.Response:
    """Each event with its `code`; 200 if all were accepted, 207 if some were, 404 if
    none was."""
    authorize(request, "os_compute_api:os-server-external-events:create")
    events = (await read_json(request, ExternalEvents)).events
    version = version_of(request)
    for event in events:
        since = LATER_NAMES.get(event.name)
        if event.name not in NAMES and (since is None or not version.at_least(since)):
            raise BadRequest(f"Invalid input for field/attribute name. Value: {event.name}.")
    ids = list({e.server_uuid for e in events})
    servers = {s.id: s for s in await select(store(request).pool, Server, "id = ANY($1)", ids)}
    answered = [
        msgspec.to_builtins(e) | {"code": _code(servers.get(e.server_uuid))} for e in events
    ]
    codes = {a["code"] for a in answered}
    if 200 not in codes:
        raise NotFound("No instances found for any event")
    return json_response({"events": answered}, status=200 if codes == {200} else 207)


def _code(server: Server | None) -> int:
    if server is None or server.deleted:
        return 404
    return 200 if server.host is not None else 422
