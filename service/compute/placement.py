"""Placing the servers of a create request: the scheduler (service/compute/scheduler.py)
chooses their hosts from the host-resource read model, and one append records the
request, the quota claim, the placements (`ServerScheduled`, each a claim on its host
that the read model refuses past capacity) and the group memberships (at the group
stream's version the choice was made from). A claim that lost a race rolls the append
back and the choice is made again on what is there now, so the host's last RAM goes
to exactly one server and a group's policy holds however requests interleave.

When no host can take the servers, they are recorded in ERROR with Nova's fault and
their quota claim is released in the same append; such servers have no host, and are
deleted by the API itself.
"""

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from aiohttp import web

from events.errors import WrongExpectedVersion
from events.postgres import PostgresEventStore
from events.store import NO_STREAM, StreamAppend
from events.types import Event
from service.audit.joining import committed, joined
from service.auth import AuthContext, caller
from service.compute import events as ev
from service.compute import quota
from service.compute.directory import Server, ServerGroup, count, get
from service.compute.hosts import DEFAULT_ZONE, HostFull, HostResources, Share, host_resources
from service.compute.scheduler import NO_VALID_HOST, Request, schedule
from service.errors import BadRequest, Conflict, Forbidden
from service.http.recording import record_streams, store

ATTEMPTS = 20
"""Placements tried again after losing a race before the request gives up with a 409."""


Record = Callable[[list[StreamAppend]], Awaitable[object]]
"""Appends a request's events (the API's `record_streams`, which makes conflicts 409s)."""


async def place_servers(
    request: web.Request,
    claim: StreamAppend,
    servers: list[ev.ServerCreateRequested],
    zone: str | None,
    answer: int,
    destination: frozenset[str] = frozenset(),
) -> None:
    """`place` for an API request, its events recorded with the request's metadata. The
    request answers `answer` once they commit, placed or not, so its audit record
    commits with them (service/audit/joining.py)."""

    async def record(appends: list[StreamAppend]) -> None:
        audit = joined(request, answer, appends)
        await record_streams(request, appends if audit is None else [*appends, audit])
        if audit is not None:
            committed(request, answer)

    await place(store(request), caller(request), record, claim, servers, zone, destination)


async def place(
    event_store: PostgresEventStore,
    ctx: AuthContext,
    record: Record,
    claim: StreamAppend,
    servers: list[ev.ServerCreateRequested],
    zone: str | None,
    destination: frozenset[str] = frozenset(),
) -> None:
    """Choose hosts for `servers` (one request's, same flavor and group) in the
    requested `zone` (`zone:host` forces a host, for admins) and on the `destination`
    host asked for (2.74, by host and node name: none fits unless they and any forced
    host agree), and record them with their quota `claim`. BadRequest for an unknown
    zone or group, Forbidden for a forced host asked by a non-admin or a full group,
    OverQuota from the claim, Conflict when the hosts changed under every attempt."""
    pool = event_store.pool
    wanted_zone, forced_host = await _zone(pool, ctx, zone)
    named = destination | ({forced_host} if forced_host else set())
    agreed = len(named) <= 1
    group = await _group(pool, ctx, servers[0].server_group_id, len(servers))
    for _ in range(ATTEMPTS):
        group_version = 0
        if group is not None:
            group_version = await event_store.stream_version(f"servergroup-{group.id}")
        hosts = await host_resources(pool)
        wanted = Request(
            share=Share.of(servers[0].flavor),
            count=len(servers),
            zone=wanted_zone,
            host=next(iter(named), None),
            group_policy=group.policy if group else None,
            group_hosts=await _group_hosts(pool, group),
            max_per_host=group.rules.get("max_server_per_host", 1) if group else 1,
        )
        chosen = schedule(hosts, wanted) if agreed else None
        if chosen is None:
            await record(_unplaced(claim, servers, wanted_zone))
            return
        appends = _placed(claim, servers, chosen, {h.host: h for h in hosts})
        if group is not None:
            joined: list[Event] = [
                ev.ServerGroupMemberAdded(group_id=group.id, member=s.server_id, host=host)
                for s, host in zip(servers, chosen, strict=True)
            ]
            appends.append(StreamAppend(f"servergroup-{group.id}", joined, group_version))
        try:
            await record(appends)
            return
        except (HostFull, Conflict, WrongExpectedVersion):
            continue
    raise Conflict("The hosts changed too often to place the servers; retry the request.")


async def _zone(db: Any, ctx: AuthContext, asked: str | None) -> tuple[str | None, str | None]:
    """The zone and forced host of `zone[:host[:node]]`; BadRequest for an unknown zone."""
    if asked is None:
        return None, None
    zone, _, rest = asked.partition(":")
    host = rest.split(":", 1)[0] or None
    if host is not None and not ctx.is_admin:
        raise Forbidden(
            "Policy doesn't allow os_compute_api:servers:create:forced_host to be performed."
        )
    zones = {h.availability_zone for h in await host_resources(db)} | {DEFAULT_ZONE}
    if zone not in zones:
        raise BadRequest(f"The requested availability zone is not available: {asked}")
    return zone, host


async def _group(
    db: Any, ctx: AuthContext, group_id: str | None, joining: int
) -> ServerGroup | None:
    """The server group the servers join: one the caller's project owns; 403 when it
    would pass the project's `server_group_members` quota."""
    if group_id is None:
        return None
    group = await get(db, ServerGroup, group_id)
    if group is None or not (ctx.is_admin or group.project_id == ctx.project_id):
        raise BadRequest(f"Instance group {group_id} could not be found.")
    limit = (await quota.limits(db, group.project_id))["server_group_members"]
    members = await count(db, Server, "server_group_id = $1 AND NOT deleted", group.id)
    if 0 <= limit < members + joining:
        raise quota.OverQuota("Quota exceeded, too many servers in group")
    return group


async def _group_hosts(db: Any, group: ServerGroup | None) -> tuple[str, ...]:
    if group is None:
        return ()
    rows = await db.fetch(
        "SELECT host FROM rm_servers WHERE server_group_id = $1 AND NOT deleted"
        " AND host IS NOT NULL",
        group.id,
    )
    return tuple(r["host"] for r in rows)


def _placed(
    claim: StreamAppend,
    servers: list[ev.ServerCreateRequested],
    chosen: list[str],
    hosts: dict[str, HostResources],
) -> list[StreamAppend]:
    """The quota claim, then each server requested and placed. Servers go in the order of
    their hosts' names, so that racing appends lock the hosts' rows in one order."""
    placed = sorted(zip(chosen, servers, strict=True), key=lambda p: (p[0], p[1].launch_index))
    return [
        claim,
        *(
            StreamAppend(
                f"server-{s.server_id}",
                [
                    _in_zone(s, hosts[host].availability_zone),
                    ev.ServerScheduled(server_id=s.server_id, host=host, node=host),
                ],
                NO_STREAM,
            )
            for host, s in placed
        ),
    ]


def _unplaced(
    claim: StreamAppend, servers: list[ev.ServerCreateRequested], zone: str | None
) -> list[StreamAppend]:
    """The servers requested and failed with Nova's NoValidHost fault, their quota
    claimed and released at once."""
    released = [
        ev.ResourcesReleased(
            project_id=c.project_id,
            server_id=c.server_id,
            instances=c.instances,
            cores=c.cores,
            ram=c.ram,
        )
        for c in claim.events
        if isinstance(c, ev.ResourcesClaimed)
    ]
    failed = [
        StreamAppend(
            f"server-{s.server_id}",
            [
                _in_zone(s, zone or DEFAULT_ZONE),
                ev.ServerFailed(server_id=s.server_id, message=NO_VALID_HOST),
            ],
            NO_STREAM,
        )
        for s in servers
    ]
    return [StreamAppend(claim.stream_id, [*claim.events, *released]), *failed]


def _in_zone(server: ev.ServerCreateRequested, zone: str) -> ev.ServerCreateRequested:
    return msgspec.structs.replace(server, availability_zone=zone)
