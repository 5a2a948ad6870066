"""Servers, flavors, keypairs and server groups as they were: their streams folded by
service/compute/fold.py, rendered by Nova's views at microversion 2.1."""

from collections.abc import Sequence

import msgspec

from events.types import RecordedEvent
from projections.rows import fold
from service.compute import fold as rows
from service.compute.api import flavors, keypairs, server_groups
from service.compute.api.microversion import MIN
from service.compute.directory import Flavor, Keypair, Server, ServerGroup
from service.compute.server_view import detail
from service.events_api.envelope import Json
from service.events_api.replay.scene import Scene


async def server(events: Sequence[RecordedEvent], scene: Scene) -> Json | None:
    """`{"server": ...}` as GET /servers/{id} shows it (a deleted server: None)."""
    row = fold(rows.server, events)
    if row is None or row["deleted"]:
        return None
    return {"server": detail(msgspec.convert(row, Server), scene.base_url, MIN, admin=False)}


async def flavor(events: Sequence[RecordedEvent], scene: Scene) -> Json | None:
    """`{"flavor": ...}` as GET /flavors/{id} shows it."""
    row = fold(rows.flavor, events)
    if row is None:
        return None
    return {"flavor": flavors.detail(msgspec.convert(row, Flavor), scene.base_url, MIN)}


async def keypair(events: Sequence[RecordedEvent], scene: Scene) -> Json | None:
    """`{"keypair": ...}` as GET /os-keypairs/{name} shows it: the public key only."""
    row = fold(rows.keypair, events)
    return None if row is None else keypairs.shown(msgspec.convert(row, Keypair), MIN)


async def server_group(events: Sequence[RecordedEvent], scene: Scene) -> Json | None:
    """`{"server_group": ...}` as GET /os-server-groups/{id} shows it; its members are
    the servers created in the group and not deleted by then, oldest first."""
    row = fold(rows.server_group, events)
    if row is None:
        return None
    where = "type = 'ServerCreateRequested' AND data->>'server_group_id' = $1"
    servers = await scene.related_rows(rows.server, where, row["id"])
    members = sorted((s["created_at"], s["id"]) for s in servers if not s["deleted"])
    group = msgspec.convert(row, ServerGroup)
    return {"server_group": server_groups.shown(group, [m for _, m in members], MIN)}
