"""/v2.1/os-aggregates (admin): host aggregates, named groups of compute hosts with
metadata, numbered from 1 as Nova's are. Kumo's hosts take their availability zone from
their worker's settings, so an aggregate's zone is one its hosts are in already: a host
of another zone cannot join it (409), nor can the zone of an aggregate change away from
its hosts' (400). The scheduler does not read aggregates."""

from typing import Annotated, Any

import msgspec
from aiohttp import web
from msgspec import UNSET, Meta, UnsetType

from events.store import NO_STREAM
from events.types import Event
from service.compute import events as ev
from service.compute.api.microversion import version_of
from service.compute.directory import Aggregate, Host, get, select
from service.compute.policy_rules import authorize
from service.compute.server_view import usage_time
from service.errors import BadRequest, Conflict, NotFound
from service.http.body import json_response, read_json
from service.http.recording import new_uuid, record, store

ROUTES = web.RouteTableDef()

Name = Annotated[str, Meta(min_length=1, max_length=255, pattern=r"^\S(?:.*\S)?$")]
Zone = Annotated[str, Meta(min_length=1, max_length=255)]
MetaKey = Annotated[str, Meta(min_length=1, max_length=255)]
NAME_TAKEN = "An aggregate with that name already exists."
ZONE_KEY = "availability_zone"
"""The metadata key that is the aggregate's zone, as Nova keeps it."""


class NewAggregate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    availability_zone: Zone | None = None


class CreateAggregate(msgspec.Struct):
    aggregate: NewAggregate


class AggregateChanges(msgspec.Struct, forbid_unknown_fields=True):
    name: Name | UnsetType = UNSET
    availability_zone: Zone | None | UnsetType = UNSET


class UpdateAggregate(msgspec.Struct):
    aggregate: AggregateChanges


class HostRef(msgspec.Struct, forbid_unknown_fields=True):
    host: Annotated[str, Meta(min_length=1, max_length=255)]


class MetadataChange(msgspec.Struct, forbid_unknown_fields=True):
    metadata: dict[MetaKey, Annotated[str, Meta(max_length=255)] | None]


class AggregateAction(msgspec.Struct, forbid_unknown_fields=True):
    add_host: HostRef | None = None
    remove_host: HostRef | None = None
    set_metadata: MetadataChange | None = None


def view(request: web.Request, aggregate: Aggregate, *, brief: bool = False) -> dict[str, Any]:
    """The aggregate as Nova shows it (its uuid from 2.41); `brief` (as created): without
    hosts and metadata."""
    shown: dict[str, Any] = {
        "id": int(aggregate.id),
        "name": aggregate.name,
        "availability_zone": aggregate.availability_zone,
        "created_at": usage_time(aggregate.created_at),
        "updated_at": usage_time(aggregate.updated_at),
        "deleted_at": None,
        "deleted": False,
    }
    if version_of(request).at_least("2.41"):
        shown["uuid"] = aggregate.uuid
    if brief:
        return shown
    zone = {ZONE_KEY: aggregate.availability_zone} if aggregate.availability_zone else {}
    return shown | {"hosts": aggregate.hosts, "metadata": aggregate.metadata | zone}


async def _aggregate(request: web.Request, action: str) -> Aggregate:
    """The aggregate in the path once `action` is allowed; 404 if there is none."""
    authorize(request, action)
    wanted = request.match_info["aggregate_id"]
    found = await get(store(request).pool, Aggregate, wanted) if wanted.isdigit() else None
    if found is None or found.deleted:
        raise NotFound(f"Aggregate {wanted} could not be found.")
    return found


async def _record(request: web.Request, aggregate_id: str, events: list[Event]) -> Aggregate:
    """Append the aggregate's events (a name taken is a 409); the aggregate after them."""
    await record(request, f"aggregate-{aggregate_id}", events, conflict=NAME_TAKEN)
    found = await get(store(request).pool, Aggregate, aggregate_id)
    assert found is not None
    return found


async def _zone_fits(request: web.Request, zone: str | None, hosts: list[str]) -> bool:
    """Whether every one of `hosts` is in `zone` (any zone: None)."""
    if zone is None or not hosts:
        return True
    found = await select(store(request).pool, Host, "name = ANY($1)", hosts)
    return all(h.availability_zone == zone for h in found)


@ROUTES.get("/v2.1/os-aggregates")
async def list_aggregates(request: web.Request) -> web.Response:
    authorize(request, "os_compute_api:os-aggregates:index")
    found = await select(store(request).pool, Aggregate, "NOT deleted")
    return json_response({"aggregates": [view(request, a) for a in found]})


@ROUTES.post("/v2.1/os-aggregates")
async def create_aggregate(request: web.Request) -> web.Response:
    """A new aggregate, numbered after the last one made; 409 if its name is taken."""
    authorize(request, "os_compute_api:os-aggregates:create")
    new = (await read_json(request, CreateAggregate)).aggregate
    pool = store(request).pool
    for _ in range(10):
        number = await pool.fetchval("SELECT coalesce(max(id::bigint), 0) + 1 FROM rm_aggregates")
        created = ev.AggregateCreated(
            aggregate_id=number,
            uuid=new_uuid(request),
            name=new.name,
            availability_zone=new.availability_zone,
        )
        try:
            await record(request, f"aggregate-{number}", [created], NO_STREAM, conflict=NAME_TAKEN)
        except Conflict:
            if await pool.fetchval(
                "SELECT 1 FROM rm_aggregates WHERE name = $1 AND NOT deleted", new.name
            ):
                raise
            continue  # another aggregate took that number first
        aggregate = await get(pool, Aggregate, str(number))
        assert aggregate is not None
        return json_response({"aggregate": view(request, aggregate, brief=True)})
    raise Conflict("Aggregates are being created too fast to number; retry.")


@ROUTES.get("/v2.1/os-aggregates/{aggregate_id}")
async def show_aggregate(request: web.Request) -> web.Response:
    aggregate = await _aggregate(request, "os_compute_api:os-aggregates:show")
    return json_response({"aggregate": view(request, aggregate)})


@ROUTES.put("/v2.1/os-aggregates/{aggregate_id}")
async def update_aggregate(request: web.Request) -> web.Response:
    """A new name or zone; 400 for a zone some of its hosts are not in, 409 for a name
    another aggregate has."""
    aggregate = await _aggregate(request, "os_compute_api:os-aggregates:update")
    changes = (await read_json(request, UpdateAggregate)).aggregate
    if changes.name is UNSET and changes.availability_zone is UNSET:
        raise BadRequest("An update names the aggregate's new name or availability_zone.")
    zone = changes.availability_zone
    if not isinstance(zone, UnsetType) and not await _zone_fits(request, zone, aggregate.hosts):
        raise BadRequest(f"The hosts of aggregate {aggregate.id} are not in zone {zone}.")
    updated = ev.AggregateUpdated(
        aggregate_id=int(aggregate.id), name=changes.name, availability_zone=zone
    )
    return json_response(
        {"aggregate": view(request, await _record(request, aggregate.id, [updated]))}
    )


@ROUTES.delete("/v2.1/os-aggregates/{aggregate_id}")
async def delete_aggregate(request: web.Request) -> web.Response:
    """200; 400 while hosts are in it (as Nova)."""
    aggregate = await _aggregate(request, "os_compute_api:os-aggregates:delete")
    if aggregate.hosts:
        raise BadRequest(f"Aggregate {aggregate.id} still has hosts: remove them first.")
    await _record(request, aggregate.id, [ev.AggregateDeleted(aggregate_id=int(aggregate.id))])
    return web.Response(status=200)


@ROUTES.post("/v2.1/os-aggregates/{aggregate_id}/action")
async def aggregate_action(request: web.Request) -> web.Response:
    """add_host (404 for an unknown host, 409 for one already in it or of another zone),
    remove_host (404 for one not in it), set_metadata (an item set to null goes; the
    `availability_zone` item is the aggregate's zone)."""
    action = await read_json(request, AggregateAction)
    events: list[Event] = []
    if action.add_host is not None:
        aggregate = await _aggregate(request, "os_compute_api:os-aggregates:add_host")
        number, host = int(aggregate.id), action.add_host.host
        if await get(store(request).pool, Host, host) is None:
            raise NotFound(f"Compute host {host} could not be found.")
        if host in aggregate.hosts:
            raise Conflict(f"Aggregate {number} already has host {host}.")
        if not await _zone_fits(request, aggregate.availability_zone, [host]):
            raise Conflict(f"Host {host} is not in zone {aggregate.availability_zone}.")
        events.append(ev.AggregateHostAdded(aggregate_id=number, host=host))
    elif action.remove_host is not None:
        aggregate = await _aggregate(request, "os_compute_api:os-aggregates:remove_host")
        number, host = int(aggregate.id), action.remove_host.host
        if host not in aggregate.hosts:
            raise NotFound(f"Aggregate {number} has no host {host}.")
        events.append(ev.AggregateHostRemoved(aggregate_id=number, host=host))
    elif action.set_metadata is not None:
        aggregate = await _aggregate(request, "os_compute_api:os-aggregates:set_metadata")
        number, items = int(aggregate.id), dict(action.set_metadata.metadata)
        if ZONE_KEY in items:
            zone = items.pop(ZONE_KEY)
            if not await _zone_fits(request, zone, aggregate.hosts):
                raise BadRequest(f"The hosts of aggregate {number} are not in zone {zone}.")
            events.append(ev.AggregateUpdated(aggregate_id=number, availability_zone=zone))
        events.append(ev.AggregateMetadataSet(aggregate_id=number, items=items))
    else:
        raise BadRequest("An aggregate action is add_host, remove_host or set_metadata.")
    return json_response({"aggregate": view(request, await _record(request, aggregate.id, events))})
