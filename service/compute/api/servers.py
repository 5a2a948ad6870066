"""/v2.1/servers: create (with quota claimed in the same append), list and detail with
filters, show, update, delete."""

import asyncio
import ipaddress
import re
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, cast

import msgspec
from aiohttp import web
from msgspec import UNSET, Meta, UnsetType

from events.store import StreamAppend
from events.types import Event
from service.auth import AuthContext, caller
from service.compute import config_drive
from service.compute import events as ev
from service.compute.api.microversion import Microversion, version_of
from service.compute.api.params import boolean, is_uuid, unexpected
from service.compute.api.server_request import (
    check_block_devices,
    check_networks,
    check_trusted_certificates,
)
from service.compute.config_drive import user_data_bytes
from service.compute.directory import Keypair, Server, get_server, select
from service.compute.placement import place_servers
from service.compute.policy_rules import authorize
from service.compute.quota import claim
from service.compute.server_view import (
    Rendered,
    RenderedCache,
    basic,
    detail,
    encoded_details,
    render,
    shown,
    summary,
)
from service.errors import BadRequest, Conflict, Forbidden, NotFound
from service.http.body import JSON, json_response, read_json
from service.http.keys import SETTINGS
from service.http.recording import base_url, new_uuid, record, record_streams, store
from service.image.directory import Image, visible_image
from service.network import nova as networking

ROUTES = web.RouteTableDef()
RENDERED = web.AppKey("compute_rendered_servers", RenderedCache)
"""The compute app's rendered server documents (service/compute/server_view.py)."""
Name = Annotated[str, Meta(min_length=1, max_length=255)]
MetaKey = Annotated[str, Meta(min_length=1, max_length=255)]
MetaValue = Annotated[str, Meta(max_length=255)]
Tag = Annotated[str, Meta(min_length=1, max_length=60, pattern=r"^[^,/]*$")]
"""A server tag (2.26): no comma or slash."""
MAX_TAGS = 50
_STATUS_FILTERS = {
    "ACTIVE": ("active", None),
    "BUILD": ("building", None),
    "SHUTOFF": ("stopped", None),
    "PAUSED": ("paused", None),
    "SUSPENDED": ("suspended", None),
    "VERIFY_RESIZE": ("resized", None),
    "ERROR": ("error", None),
    "DELETED": ("deleted", None),
    "REBOOT": ("active", "rebooting"),
    "HARD_REBOOT": ("active", "rebooting_hard"),
    "REBUILD": ("active", "rebuilding"),
    "RESIZE": ("active", "resize_prep"),
    "REVERT_RESIZE": ("resized", "resize_reverting"),
    # Nova's statuses of states no Kumo server reaches: a filter by them finds none
    "PASSWORD": ("active", "updating_password"),
    "MIGRATING": ("active", "migrating"),
    "RESCUE": ("rescued", None),
    "SOFT_DELETED": ("soft-delete", None),
    "SHELVED": ("shelved", None),
    "SHELVED_OFFLOADED": ("shelved_offloaded", None),
}


DiskConfig = Literal["AUTO", "MANUAL"]
"""OS-DCF:diskConfig: whether the root partition is grown to the disk (a hint to the guest)."""


class SecurityGroupRef(msgspec.Struct):
    name: str


class NewServer(
    msgspec.Struct,
    forbid_unknown_fields=True,
    rename={
        "image_ref": "imageRef",
        "flavor_ref": "flavorRef",
        "admin_pass": "adminPass",
        "access_ipv4": "accessIPv4",
        "access_ipv6": "accessIPv6",
        "disk_config": "OS-DCF:diskConfig",
    },
):
    name: Name
    flavor_ref: str | int
    disk_config: DiskConfig = "MANUAL"
    image_ref: str = ""
    key_name: str | None = None
    user_data: str | None = None
    metadata: dict[MetaKey, MetaValue] = {}
    availability_zone: str | None = None
    min_count: Annotated[int, Meta(ge=1)] = 1
    max_count: Annotated[int, Meta(ge=1)] | None = None
    return_reservation_id: bool = False
    config_drive: bool = False
    security_groups: list[SecurityGroupRef] = []
    networks: str | list[dict[str, Any]] | None = None
    block_device_mapping_v2: list[dict[str, Any]] = []
    personality: list[dict[str, Any]] | UnsetType = UNSET
    admin_pass: str | None = None
    access_ipv4: str = ""
    access_ipv6: str = ""
    description: str | None = None
    tags: Annotated[list[Tag], Meta(max_length=MAX_TAGS)] | None = None
    host: Name | None = None
    hypervisor_hostname: Name | None = None
    trusted_image_certificates: object = UNSET


class CreateServer(msgspec.Struct):
    server: NewServer
    os_scheduler_hints: dict[str, Any] = msgspec.field(name="os:scheduler_hints", default={})


class ServerChanges(
    msgspec.Struct,
    forbid_unknown_fields=True,
    rename={
        "access_ipv4": "accessIPv4",
        "access_ipv6": "accessIPv6",
        "disk_config": "OS-DCF:diskConfig",
    },
):
    name: Name | UnsetType = UNSET
    description: str | None | UnsetType = UNSET
    access_ipv4: str | UnsetType = UNSET
    access_ipv6: str | UnsetType = UNSET
    disk_config: DiskConfig | UnsetType = UNSET


class UpdateServer(msgspec.Struct):
    server: ServerChanges


async def visible_server(request: web.Request, server_id: str) -> Server:
    """The caller's server (any for an admin); NotFound otherwise, as Nova does."""
    ctx = caller(request)
    server = await get_server(store(request).pool, server_id) if is_uuid(server_id) else None
    if (
        server is None
        or server.deleted
        or not (ctx.is_admin or server.project_id == ctx.project_id)
    ):
        raise NotFound(f"Instance {server_id} could not be found.")
    return server


def require_member(ctx: AuthContext, server: Server | None = None) -> None:
    """Changing a server takes the member role on its project (or admin)."""
    if ctx.is_admin:
        return
    if not ctx.has_role("member") or (server is not None and server.project_id != ctx.project_id):
        raise Forbidden("Policy doesn't allow this action to be performed.")


def refuse_busy(server: Server, action: str, allowed: frozenset[str]) -> None:
    """409 unless the server is idle, unlocked (for its owner), and in an allowed state."""
    if server.task_state is not None:
        raise Conflict(
            f"Cannot '{action}' instance {server.id} while it is in task_state {server.task_state}"
        )
    if server.vm_state not in allowed:
        raise Conflict(
            f"Cannot '{action}' instance {server.id} while it is in vm_state {server.vm_state}"
        )


def show_body(
    request: web.Request, server: Server, addresses: dict[str, Any] | None = None
) -> dict[str, Any]:
    admin = caller(request).is_admin
    return detail(server, base_url(request), version_of(request), admin=admin, addresses=addresses)


async def basic_body(request: web.Request, server: Server) -> dict[str, Any]:
    """The server as update and rebuild answer, with its addresses (plain, as Nova's)
    and from 2.71 its server group."""
    found = (await networking.addresses(store(request).pool, [server.id])).get(server.id, {})
    body = basic(server, base_url(request), version_of(request), networking.plain(found))
    return body | await server_groups(request, server)


async def server_groups(request: web.Request, server: Server) -> dict[str, Any]:
    """From 2.71, `server_groups`: the id of the server's group, if it still exists
    (shown by show, update and rebuild, not by listings)."""
    if not version_of(request).at_least("2.71"):
        return {}
    group = server.server_group_id
    exists = group is not None and await store(request).pool.fetchval(
        "SELECT true FROM rm_server_groups WHERE id = $1", group
    )
    return {"server_groups": [group] if exists else []}


def access_ip(value: str, version: int) -> str:
    """An accessIPv4/v6 value, normalised as Nova stores it; BadRequest if malformed."""
    if not value:
        return value
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        address = None
    if address is None or address.version != version:
        raise BadRequest(f"Invalid input for field/attribute accessIPv{version}: {value}")
    return str(address)


async def _flavor(request: web.Request, ref: str | int) -> ev.FlavorSnapshot:
    flavor_id = str(ref).rstrip("/").rsplit("/", 1)[-1]
    ctx = caller(request)
    row = await store(request).pool.fetchrow(
        "SELECT id, name, vcpus, ram, disk, ephemeral, swap, extra_specs FROM rm_flavors f"
        " WHERE id = $1 AND (is_public OR $2 OR EXISTS (SELECT 1 FROM rm_flavor_access a"
        " WHERE a.flavor_id = f.id AND a.project_id = $3))",
        flavor_id,
        ctx.is_admin,
        ctx.project_id,
    )
    if row is None:
        raise BadRequest(f"Flavor {flavor_id} could not be found.")
    record_ = dict(row)
    record_["extra_specs"] = msgspec.json.decode(record_["extra_specs"])
    return msgspec.convert(record_, ev.FlavorSnapshot)


async def _image(request: web.Request, ref: str, flavor: ev.FlavorSnapshot) -> str:
    """The id of the image `ref` names if a server of `flavor` can boot from it;
    BadRequest otherwise."""
    return _bootable(await _find_image(request, ref), flavor)


async def _find_image(request: web.Request, ref: str) -> Image:
    image_id = ref.rstrip("/").rsplit("/", 1)[-1]
    if not image_id:
        raise BadRequest("Block Device Mapping is Invalid: an image is required to boot from.")
    image = (
        await visible_image(store(request).pool, caller(request), image_id)
        if is_uuid(image_id)
        else None
    )
    if image is None:
        raise BadRequest(f"Image {image_id} could not be found.")
    return image


def _bootable(image: Image, flavor: ev.FlavorSnapshot) -> str:
    """The image's id if a server of `flavor` can boot from it; BadRequest otherwise."""
    if image.status != "active":
        raise BadRequest(f"Image {image.id} is not active.")
    if image.min_ram > flavor.ram:
        raise BadRequest("Flavor's memory is too small for requested image.")
    if image.min_disk > flavor.disk:
        raise BadRequest("Flavor's disk is too small for requested image.")
    return image.id


async def _references(
    request: web.Request, new: NewServer
) -> tuple[ev.FlavorSnapshot, str, Keypair | None]:
    """The flavor, the image id and the key pair a new server names, read at the same
    time; the error of the first of them (in that order) that is wrong."""
    found = await asyncio.gather(
        _flavor(request, new.flavor_ref),
        _find_image(request, new.image_ref),
        own_keypair(request, new.key_name),
        return_exceptions=True,
    )
    for result in found:
        if isinstance(result, BaseException):
            raise result
    flavor, image, keypair = cast(tuple[ev.FlavorSnapshot, Image, Keypair | None], found)
    return flavor, _bootable(image, flavor), keypair


async def own_keypair(request: web.Request, key_name: str | None) -> Keypair | None:
    """The caller's own key pair of that name (key pairs belong to users, whoever's
    server it is for), None for no name; BadRequest (400), as Nova's, if there is none."""
    if key_name is None:
        return None
    owner = caller(request).user_id
    found = await select(
        store(request).pool, Keypair, "user_id = $1 AND name = $2", owner, key_name
    )
    if not found:
        raise BadRequest("Invalid key_name provided.")
    return found[0]


async def _destination(
    request: web.Request, new: NewServer, version: Microversion
) -> frozenset[str]:
    """The host a new server is asked onto (2.74, admins only): its `host` and its
    `hypervisor_hostname` (a Kumo host's one node has the host's name), each a known
    host. BadRequest (400) for an unknown one or one asked before 2.74, Forbidden (403)
    for a non-admin."""
    asked = frozenset(n for n in (new.host, new.hypervisor_hostname) if n is not None)
    if not asked:
        return asked
    if not version.at_least("2.74"):
        raise unexpected("host" if new.host is not None else "hypervisor_hostname", "server")
    authorize(request, "compute:servers:create:requested_destination")
    pool = store(request).pool
    for name in asked:
        if await pool.fetchval("SELECT true FROM rm_hosts WHERE name = $1", name) is None:
            raise BadRequest(f"Compute host {name} could not be found.")
    return asked


def _check_name(name: str) -> None:
    if name != name.strip():
        raise BadRequest("Invalid input for field/attribute name: leading or trailing spaces.")


@ROUTES.post("/v2.1/servers")
async def create_server(request: web.Request) -> web.Response:
    ctx = caller(request)
    require_member(ctx)
    if ctx.project_id is None:
        raise Forbidden("Servers are created with a project-scoped token.")
    body = await read_json(request, CreateServer)
    new = body.server
    _check_name(new.name)
    count_max = new.max_count or new.min_count
    if new.min_count > count_max:
        raise BadRequest("min_count must be <= max_count.")
    if len(new.metadata) > 128:
        raise Forbidden("Quota exceeded for metadata_items: limit is 128.")
    zone = new.availability_zone or "nova"
    version = version_of(request)
    check_networks(version, new.networks)
    check_block_devices(version, new.block_device_mapping_v2)
    check_trusted_certificates(version, new.trusted_image_certificates)
    if not isinstance(new.personality, UnsetType) and version.at_least("2.57"):
        raise unexpected("personality", "server")
    if new.tags is not None and not version.at_least("2.52"):
        raise unexpected("tags", "server")
    if new.user_data is not None and user_data_bytes(new.user_data) is None:
        raise BadRequest("User data needs to be valid base 64.")
    ipv4, ipv6 = access_ip(new.access_ipv4, 4), access_ip(new.access_ipv6, 6)
    destination = await _destination(request, new, version)
    flavor, image_id, keypair = await _references(request, new)
    drive = config_drive.required(
        new.config_drive,
        request.config_dict[SETTINGS].force_config_drive,
        carries=keypair is not None or new.user_data is not None,
    )
    reservation_id = f"r-{secrets.token_hex(4)}"
    groups = tuple(dict.fromkeys(g.name for g in new.security_groups)) or ("default",)
    servers = []
    for index in range(count_max):
        server_id = new_uuid(request)
        name = new.name if count_max == 1 else f"{new.name}-{index + 1}"
        servers.append(
            ev.ServerCreateRequested(
                server_id=server_id,
                project_id=ctx.project_id,
                user_id=ctx.user_id,
                name=name,
                flavor=flavor,
                image_id=image_id,
                availability_zone=zone,
                reservation_id=reservation_id,
                launch_index=index,
                key_name=new.key_name,
                public_key=keypair.public_key if keypair else None,
                key_type=keypair.type if keypair else "ssh",
                user_data=new.user_data,
                admin_password=new.admin_pass,
                metadata=dict(new.metadata),
                config_drive=drive,
                security_groups=groups,
                server_group_id=body.os_scheduler_hints.get("group"),
                description=new.description,
                tags=tuple(dict.fromkeys(new.tags or ())),
                access_ipv4=ipv4,
                access_ipv6=ipv6,
                hostname=_hostname(name),
                disk_config=new.disk_config,
            )
        )
    await networking.plug_servers(request, ctx, new.networks, servers)
    try:
        # Nothing after this append can fail: the audit record commits with it.
        await _append_with_quota(
            request, ctx.project_id, flavor, servers, new.availability_zone, destination
        )
    except BaseException:
        await networking.unplug(request, *(s.server_id for s in servers))
        raise
    first = servers[0]
    if new.return_reservation_id:
        return json_response({"reservation_id": reservation_id}, status=202)
    created: dict[str, Any] = {
        "id": first.server_id,
        "links": summary_links(request, first.server_id),
        "OS-DCF:diskConfig": new.disk_config,
        "security_groups": [{"name": g} for g in groups],
        "adminPass": new.admin_pass or secrets.token_urlsafe(9),
    }
    return json_response({"server": created}, status=202)


def summary_links(request: web.Request, server_id: str) -> list[dict[str, str]]:
    base = base_url(request)
    return [
        {"rel": "self", "href": f"{base}/compute/v2.1/servers/{server_id}"},
        {"rel": "bookmark", "href": f"{base}/compute/servers/{server_id}"},
    ]


def _hostname(name: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:63] or "server"


async def _append_with_quota(
    request: web.Request,
    project_id: str,
    flavor: ev.FlavorSnapshot,
    servers: list[ev.ServerCreateRequested],
    zone: str | None,
    destination: frozenset[str],
) -> None:
    """Claim quota, place and request the servers in one append. The usage read model
    refuses a claim past the limit inside the append (service/compute/quota.py), so N
    racing creates at the limit let exactly the allowed ones in; OverQuota is a 403.
    The host-resource read model does the same for hosts (service/compute/placement.py)."""
    quota = await claim(
        store(request),
        project_id,
        [s.server_id for s in servers],
        instances=len(servers),
        cores=flavor.vcpus * len(servers),
        ram=flavor.ram * len(servers),
    )
    await place_servers(request, quota, servers, zone, answer=202, destination=destination)


def _listing_filters(request: web.Request, ctx: AuthContext) -> tuple[str, list[Any]]:
    """The listing's SQL condition and its arguments; an unknown status finds nothing
    (a 400 from 2.38)."""
    q = request.query
    where = ["true"]
    args: list[Any] = []

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    # an admin sees every project's with all_tenants, one project's with tenant_id too
    # (which Nova ignores without all_tenants); anyone else sees their project's
    all_tenants = "all_tenants" in q and ctx.is_admin
    if not all_tenants:
        where.append(f"project_id = {arg(ctx.project_id)}")
    elif "tenant_id" in q:
        where.append(f"project_id = {arg(q['tenant_id'])}")
    since, before = changes_window(request)
    if since is not None:
        where.append(f"updated_at >= {arg(since)}")
    if before is not None:
        where.append(f"updated_at <= {arg(before)}")
    if since is None and before is None:  # a window shows deleted servers too (Nova's)
        where.append("NOT deleted")
    if "name" in q:
        where.append(f"name ~ {arg(q['name'])}")
    if "status" in q:
        status = q["status"].upper()
        if status not in _STATUS_FILTERS:
            if version_of(request).at_least("2.38"):
                raise BadRequest("Invalid status value")
            return "false", []
        vm_state, task = _STATUS_FILTERS[status]
        where.append(f"vm_state = {arg(vm_state)}")
        if task is not None:
            where.append(f"task_state = {arg(task)}")
    if "image" in q:
        where.append(f"image_id = {arg(q['image'].rstrip('/').rsplit('/', 1)[-1])}")
    if "flavor" in q:
        where.append(f"flavor->>'id' = {arg(q['flavor'].rstrip('/').rsplit('/', 1)[-1])}")
    if "host" in q and ctx.is_admin:
        where.append(f"host = {arg(q['host'])}")
    if "reservation_id" in q:
        where.append(f"reservation_id = {arg(q['reservation_id'])}")
    if "locked" in q and version_of(request).at_least("2.73"):
        where.append(f"locked = {arg(boolean('locked', q['locked']))}")
    return " AND ".join(where), args


def changes_window(request: web.Request) -> tuple[datetime | None, datetime | None]:
    """The query's `changes-since` and (from 2.66) `changes-before`; BadRequest (400)
    if either is not a time or the window ends before it starts."""
    q = request.query
    since = moment(q["changes-since"]) if "changes-since" in q else None
    before = None
    if "changes-before" in q and version_of(request).at_least("2.66"):
        before = moment(q["changes-before"], "changes-before")
        if since is not None and before < since:
            raise BadRequest(
                "The value of changes-since must be less than or equal to changes-before."
            )
    return since, before


def moment(text: str, field: str = "changes-since") -> datetime:
    """An ISO 8601 time (UTC if it names no zone) as a query's `field` gives it;
    BadRequest (400) if it is not one."""
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"Invalid {field} value: {text}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


async def _listing(request: web.Request, fields: str) -> tuple[list[Any], dict[str, Any]]:
    """The `fields` (SQL; `id` first) of the servers a listing shows, newest first, and
    its `servers_links` when a `limit` filled the page."""
    ctx = caller(request)
    where, args = _listing_filters(request, ctx)
    limit_text = request.query.get("limit")
    try:
        limit = int(limit_text) if limit_text is not None else 1000
    except ValueError:
        raise BadRequest(f"Invalid input for field/attribute limit: {limit_text}") from None
    if limit < 0:
        raise BadRequest("Invalid input for field/attribute limit: must be >= 0.")
    pool = store(request).pool
    marker = request.query.get("marker")
    if marker is not None:
        found = await pool.fetchrow("SELECT created_at, id FROM rm_servers WHERE id = $1", marker)
        if found is None:
            raise BadRequest(f"marker [{marker}] not found")
        args += [found["created_at"], found["id"]]
        where += f" AND (created_at, id) < (${len(args) - 1}, ${len(args)})"
    args.append(min(limit, 1000))
    rows = await pool.fetch(
        f"SELECT {fields} FROM rm_servers WHERE {where}"
        f" ORDER BY created_at DESC, id DESC LIMIT ${len(args)}",
        *args,
    )
    extra: dict[str, Any] = {}
    if limit_text is not None and rows and len(rows) == limit:
        next_url = f"{base_url(request)}/compute/v2.1/servers?limit={limit}&marker={rows[-1][0]}"
        extra["servers_links"] = [{"rel": "next", "href": next_url}]
    return rows, extra


@ROUTES.get("/v2.1/servers")
async def list_servers(request: web.Request) -> web.Response:
    rows, extra = await _listing(request, "id, name")
    items = [summary(r["id"], r["name"], base_url(request)) for r in rows]
    return json_response({"servers": items, **extra})


@ROUTES.get("/v2.1/servers/detail")
async def list_servers_detail(request: web.Request) -> web.Response:
    """Each server's document is encoded once per version of its row (`RENDERED`): a
    page is the listing's query, the rows of servers changed since, their addresses,
    and bytes joined."""
    rows, extra = await _listing(request, "id, version")
    rendered = await _rendered(request, rows)
    found = await networking.addresses(store(request).pool, [r["id"] for r in rows])
    parts = shown(version_of(request), admin=caller(request).is_admin)
    documents = [
        (doc, msgspec.json.encode(found[i]) if i in found else b"{}") for i, doc in rendered
    ]
    body = b'{"servers":' + encoded_details(documents, parts)
    if extra:
        body += b"," + msgspec.json.encode(extra)[1:-1]
    return web.Response(body=body + b"}", content_type=JSON)


async def _rendered(request: web.Request, rows: list[Any]) -> list[tuple[str, Rendered]]:
    """The rendered documents of servers listed with their ids and row versions: from
    the cache, the rest read and rendered (in one query) and cached."""
    cache = request.config_dict[RENDERED]
    found = {r["id"]: cache.get(r["id"], r["version"]) for r in rows}
    missing = [server_id for server_id, doc in found.items() if doc is None]
    if missing:
        base = base_url(request)
        fresh = await select(store(request).pool, Server, "id = ANY($1)", missing)
        for server in fresh:
            found[server.id] = doc = render(server, base)
            cache.put(server.id, doc)
    # A server changed between the two reads is shown as it is now.
    return [(server_id, doc) for server_id, doc in found.items() if doc is not None]


@ROUTES.get("/v2.1/servers/{server_id}")
async def show_server(request: web.Request) -> web.Response:
    server = await visible_server(request, request.match_info["server_id"])
    found = await networking.addresses(store(request).pool, [server.id])
    body = show_body(request, server, found.get(server.id)) | await server_groups(request, server)
    return json_response({"server": body})


@ROUTES.put("/v2.1/servers/{server_id}")
async def update_server(request: web.Request) -> web.Response:
    server = await visible_server(request, request.match_info["server_id"])
    require_member(caller(request), server)
    changes = (await read_json(request, UpdateServer)).server
    if isinstance(changes.name, str):
        _check_name(changes.name)
    event = ev.ServerUpdated(
        server_id=server.id,
        name=changes.name,
        description=changes.description,
        access_ipv4=changes.access_ipv4
        if isinstance(changes.access_ipv4, UnsetType)
        else access_ip(changes.access_ipv4, 4),
        access_ipv6=changes.access_ipv6
        if isinstance(changes.access_ipv6, UnsetType)
        else access_ip(changes.access_ipv6, 6),
        disk_config=changes.disk_config,
    )
    await record(request, f"server-{server.id}", [event])
    updated = await get_server(store(request).pool, server.id)
    assert updated is not None
    return json_response({"server": await basic_body(request, updated)})


@ROUTES.delete("/v2.1/servers/{server_id}")
async def delete_server(request: web.Request) -> web.Response:
    ctx = caller(request)

    def decide(server: Server) -> list[Event]:
        if server.locked and not ctx.is_admin:
            raise Conflict(f"Instance {server.id} is locked")
        if server.task_state == "deleting":
            return []
        if server.host is None:  # never placed: no host has anything to undo
            return [
                ev.ServerDeleteRequested(server_id=server.id),
                ev.ServerDeleted(server_id=server.id),
            ]
        return [ev.ServerDeleteRequested(server_id=server.id)]

    server = await act(request, request.match_info["server_id"], decide)
    await networking.unplug(request, server.id)
    return web.Response(status=204)


Alongside = Callable[[Server], Awaitable[list[StreamAppend]]]
"""What else an action appends with the server's events, as decided on (quota, say)."""


async def act(
    request: web.Request,
    server_id: str,
    decide: Callable[[Server], list[Event]],
    alongside: Alongside | None = None,
) -> Server:
    """Decide from the server's current state and append, under optimistic concurrency:
    if the server changed meanwhile, decide again on the new state. Returns the server
    as decided on; `decide` raises the API error for a refused action. What `alongside`
    gives for the server decided on goes in the same append."""
    for _ in range(10):
        server = await visible_server(request, server_id)
        require_member(caller(request), server)
        events = decide(server)
        if not events:
            return server
        appends = [StreamAppend(f"server-{server.id}", events, server.version)]
        if alongside is not None:
            appends += await alongside(server)
        try:
            await record_streams(request, appends)
            return server
        except Conflict:
            continue
    raise Conflict(f"Instance {server_id} is changing too often to act on; retry.")
