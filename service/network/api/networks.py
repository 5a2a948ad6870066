"""/v2.0/networks: create (one or in bulk), list, show, update, delete. A project sees
its own networks, shared ones and external ones (an admin sees all); `shared` and
`router:external` are set by admins only."""

from typing import Annotated, Any

import msgspec
from aiohttp import web
from msgspec import UNSET, Meta, UnsetType

from events.store import NO_STREAM, StreamAppend
from events.types import Event
from service.auth import AuthContext
from service.compute.directory import get, select
from service.errors import BadRequest, Conflict, NotFound
from service.http.recording import new_uuid, record_streams, store
from service.network import events as ev
from service.network import quota
from service.network.api.common import (
    Json,
    created,
    fields_of,
    given,
    listable,
    listing,
    one,
    read_changes,
    read_items,
    standard,
)
from service.network.directory import NETWORK_VISIBLE, FloatingIp, Network, Subnet
from service.network.policy_rules import authorize

ROUTES = web.RouteTableDef()
Text = Annotated[str, Meta(max_length=255)]


class NetworkBody(
    msgspec.Struct, forbid_unknown_fields=True, rename={"external": "router:external"}
):
    name: Text | UnsetType = UNSET
    description: Text | UnsetType = UNSET
    admin_state_up: bool | UnsetType = UNSET
    shared: bool | UnsetType = UNSET
    external: bool | UnsetType = UNSET
    is_default: bool | UnsetType = UNSET
    mtu: Annotated[int, Meta(ge=68, le=9000)] | UnsetType = UNSET
    port_security_enabled: bool | UnsetType = UNSET
    project_id: str | UnsetType = UNSET
    tenant_id: str | UnsetType = UNSET
    availability_zone_hints: list[str] | UnsetType = UNSET


def owner_of(ctx: AuthContext, project_id: Any, tenant_id: Any) -> str:
    """The project a new resource belongs to: the caller's, or one an admin names."""
    named = project_id if given(project_id) else tenant_id if given(tenant_id) else None
    if named is None or named == ctx.project_id:
        if ctx.project_id is None:
            raise BadRequest("A project-scoped token, or a project_id, is required.")
        return ctx.project_id
    if not ctx.is_admin:
        raise BadRequest("Only an admin may create a resource in another project.")
    return str(named)


def view(network: Network, subnets: list[str]) -> Json:
    return {
        "id": network.id,
        "name": network.name,
        "description": network.description,
        "admin_state_up": network.admin_state_up,
        "status": "ACTIVE",
        "subnets": subnets,
        "shared": network.shared,
        "router:external": network.external,
        "is_default": network.is_default,
        "mtu": network.mtu,
        "port_security_enabled": network.port_security_enabled,
        "availability_zone_hints": [],
        "availability_zones": ["nova"],
        "ipv4_address_scope": None,
        "ipv6_address_scope": None,
        "l2_adjacency": True,
        "qos_policy_id": None,
    } | standard(
        network.project_id, network.created_at, network.updated_at, network.revision_number
    )


async def views(request: web.Request, networks: list[Network]) -> list[Json]:
    """The networks as Neutron shows them, each with its subnets' ids."""
    subnets: dict[str, list[str]] = {n.id: [] for n in networks}
    found = await select(store(request).pool, Subnet, "network_id = ANY($1)", list(subnets))
    for subnet in found:
        subnets[subnet.network_id].append(subnet.id)
    return [view(n, subnets[n.id]) for n in networks]


async def visible_network(request: web.Request, ctx: AuthContext, network_id: str) -> Network:
    """The network if the caller may see it; NotFound (404) otherwise."""
    network = await get(store(request).pool, Network, network_id)
    if network is None or not (
        ctx.is_admin or network.project_id == ctx.project_id or network.shared or network.external
    ):
        raise NotFound(f"Network {network_id} could not be found.")
    return network


def _check_admin_attributes(request: web.Request, action: str, body: NetworkBody) -> None:
    for name, value in (
        ("shared", body.shared),
        ("router:external", body.external),
        ("is_default", body.is_default),
    ):
        if given(value) and value:
            authorize(request, f"{action}:{name}")


def created_event(request: web.Request, project_id: str, body: NetworkBody) -> ev.NetworkCreated:
    def value(given_value: Any, default: Any) -> Any:
        return given_value if given(given_value) else default

    return ev.NetworkCreated(
        network_id=new_uuid(request),
        project_id=project_id,
        name=value(body.name, ""),
        description=value(body.description, ""),
        admin_state_up=value(body.admin_state_up, True),
        shared=value(body.shared, False),
        external=value(body.external, False),
        is_default=value(body.is_default, False),
        mtu=value(body.mtu, 1500),
        port_security_enabled=value(body.port_security_enabled, True),
    )


@ROUTES.post("/v2.0/networks")
async def create_networks(request: web.Request) -> web.Response:
    bodies, bulk = await read_items(request, "network", "networks", NetworkBody)
    ctx = authorize(request, "create_network")
    new = []
    for body in bodies:
        project_id = owner_of(ctx, body.project_id, body.tenant_id)
        authorize(request, "create_network", {"project_id": project_id})
        _check_admin_attributes(request, "create_network", body)
        new.append(created_event(request, project_id, body))
    for project_id in {e.project_id for e in new}:
        count = sum(e.project_id == project_id for e in new)
        await quota.check(store(request).pool, project_id, "network", count)
    await record_streams(
        request, [StreamAppend(f"network-{e.network_id}", [e], NO_STREAM) for e in new]
    )
    networks = [await visible_network(request, ctx, e.network_id) for e in new]
    return created("network", "networks", await views(request, networks), bulk)


@ROUTES.get("/v2.0/networks")
async def list_networks(request: web.Request) -> web.Response:
    ctx = authorize(request, "get_network")
    networks = await listable(request, ctx, Network, NETWORK_VISIBLE.format(p="$1"))
    return listing(request, "networks", await views(request, networks))


@ROUTES.get("/v2.0/networks/{network_id}")
async def show_network(request: web.Request) -> web.Response:
    ctx = authorize(request, "get_network")
    network = await visible_network(request, ctx, request.match_info["network_id"])
    return fields_of(request, "network", (await views(request, [network]))[0])


@ROUTES.put("/v2.0/networks/{network_id}")
async def update_network(request: web.Request) -> web.Response:
    ctx = authorize(request, "get_network")
    network = await visible_network(request, ctx, request.match_info["network_id"])
    body = await read_changes(request, "network", NetworkBody)
    authorize(request, "update_network", {"project_id": network.project_id})
    _check_admin_attributes(request, "update_network", body)
    if given(body.project_id) or given(body.tenant_id):
        raise BadRequest("Cannot update read-only attribute project_id.")
    changed = ev.NetworkUpdated(
        network_id=network.id,
        name=body.name,
        description=body.description,
        admin_state_up=body.admin_state_up,
        shared=body.shared,
        external=body.external,
        is_default=body.is_default,
        mtu=body.mtu,
        port_security_enabled=body.port_security_enabled,
    )
    stream = StreamAppend(f"network-{network.id}", [changed], network.revision_number)
    await record_streams(request, [stream])
    updated = await visible_network(request, ctx, network.id)
    return one("network", (await views(request, [updated]))[0])


@ROUTES.delete("/v2.0/networks/{network_id}")
async def delete_network(request: web.Request) -> web.Response:
    """204; a network with ports is a 409 (its subnets go with it, and so do an external
    network's floating IPs that no port uses, as in Neutron)."""
    ctx = authorize(request, "get_network")
    network = await visible_network(request, ctx, request.match_info["network_id"])
    authorize(request, "delete_network", {"project_id": network.project_id})
    pool = store(request).pool
    if await pool.fetchval("SELECT 1 FROM rm_ports WHERE network_id = $1 LIMIT 1", network.id):
        raise Conflict(
            f"Unable to complete operation on network {network.id}. There are one or more "
            "ports still in use on the network."
        )
    unused = await select(
        pool, FloatingIp, "floating_network_id = $1 AND port_id IS NULL", network.id
    )
    appends = [
        StreamAppend(
            f"floatingip-{f.id}",
            [ev.FloatingIpDeleted(floating_ip_id=f.id, project_id=f.project_id)],
            f.revision_number,
        )
        for f in unused
    ]
    appends += [
        StreamAppend(
            f"subnet-{s.id}",
            [ev.SubnetDeleted(subnet_id=s.id, project_id=s.project_id)],
            s.revision_number,
        )
        for s in await select(pool, Subnet, "network_id = $1", network.id)
    ]
    deleted: list[Event] = [ev.NetworkDeleted(network_id=network.id, project_id=network.project_id)]
    appends.append(StreamAppend(f"network-{network.id}", deleted, network.revision_number))
    await record_streams(request, appends)
    return web.Response(status=204)
