"""Servers as Nova shows them: the read-model row, Nova's status, and the JSON of each
microversion Kumo serves (2.1 base; 2.3 extended attributes; 2.9 locked; 2.16
host_status; 2.19 description; 2.26 tags; 2.47 the flavor itself for its id; 2.63
trusted image certificates; 2.73 the reason it is locked)."""

import hashlib
from datetime import UTC, datetime
from typing import Any

import msgspec

from service.compute.api.microversion import MIN, Microversion, parse
from service.compute.directory import Server

_PROGRESS_STATUSES = {"ACTIVE", "BUILD", "REBUILD", "RESIZE", "VERIFY_RESIZE"}

Json = dict[str, Any]


def nova_time(value: datetime | None) -> str | None:
    """Nova's timestamp format: seconds, UTC, with a Z."""
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def usage_time(value: datetime | None) -> str | None:
    """The OS-SRV-USG format: microseconds, no zone."""
    return None if value is None else value.astimezone(UTC).replace(tzinfo=None).isoformat()


def links(base: str, collection: str, item_id: str) -> list[Json]:
    return [
        {"rel": "self", "href": f"{base}/compute/v2.1/{collection}/{item_id}"},
        {"rel": "bookmark", "href": f"{base}/compute/{collection}/{item_id}"},
    ]


def host_id(server: Server) -> str:
    """Nova's hostId: an opaque hash of the project and the host, "" when unplaced."""
    if not server.host:
        return ""
    return hashlib.sha224((server.project_id + server.host).encode()).hexdigest()


def summary(server_id: str, name: str, base: str) -> Json:
    """A server as plain listings show it."""
    return {"id": server_id, "name": name, "links": links(base, "servers", server_id)}


def _parts(server: Server, base: str) -> tuple[Json, ...]:
    """The server document's members in parts, in the order of `PARTS`; its addresses,
    which live in the network service's rows, are added per request."""
    status = server.status
    common: Json = {
        "id": server.id,
        "name": server.name,
        "status": status,
        "tenant_id": server.project_id,
        "user_id": server.user_id,
        "metadata": server.metadata,
        "hostId": host_id(server),
        "image": {"id": server.image_id, "links": links(base, "images", server.image_id)[1:]},
        "created": nova_time(server.created_at),
        "updated": nova_time(server.updated_at),
        "accessIPv4": server.access_ipv4,
        "accessIPv6": server.access_ipv6,
        "links": links(base, "servers", server.id),
        "OS-DCF:diskConfig": server.disk_config,
        "key_name": server.key_name,
        "OS-SRV-USG:launched_at": usage_time(server.launched_at),
        "OS-SRV-USG:terminated_at": usage_time(server.terminated_at),
        "OS-EXT-AZ:availability_zone": server.availability_zone,
        "OS-EXT-STS:task_state": server.task_state,
        "OS-EXT-STS:vm_state": server.vm_state,
        "OS-EXT-STS:power_state": server.power_state,
        "os-extended-volumes:volumes_attached": [],
        "config_drive": "True" if server.config_drive else "",
    }
    if server.security_groups:  # Nova leaves the key out for a server in none
        common["security_groups"] = [{"name": name} for name in server.security_groups]
    if status in _PROGRESS_STATUSES:
        common["progress"] = 100 if status == "ACTIVE" else 0
    if server.fault is not None and status in ("ERROR", "DELETED"):
        common["fault"] = server.fault
    admin: Json = {
        "OS-EXT-SRV-ATTR:host": server.host,
        "OS-EXT-SRV-ATTR:instance_name": instance_name(server.id),
        "OS-EXT-SRV-ATTR:hypervisor_hostname": server.node,
    }
    admin_2_3: Json = {
        "OS-EXT-SRV-ATTR:reservation_id": server.reservation_id,
        "OS-EXT-SRV-ATTR:launch_index": server.launch_index,
        "OS-EXT-SRV-ATTR:kernel_id": "",
        "OS-EXT-SRV-ATTR:ramdisk_id": "",
        "OS-EXT-SRV-ATTR:hostname": server.hostname,
        "OS-EXT-SRV-ATTR:root_device_name": "/dev/vda",
        "OS-EXT-SRV-ATTR:user_data": server.user_data,
    }
    flavor = server.flavor
    embedded = {
        "vcpus": flavor.vcpus,
        "ram": flavor.ram,
        "disk": flavor.disk,
        "ephemeral": flavor.ephemeral,
        "swap": flavor.swap,
        "original_name": flavor.name,
        "extra_specs": flavor.extra_specs,
    }
    return (
        common,
        {"flavor": {"id": flavor.id, "links": links(base, "flavors", flavor.id)[1:]}},
        {"flavor": embedded},
        admin,
        admin_2_3,
        {"locked": server.locked},
        {"host_status": "UP" if server.host else ""},
        {"description": server.description},
        {"tags": server.tags},
        # Kumo verifies no image signatures, so no server is given certificates to trust
        {"trusted_image_certificates": None},
        {"locked_reason": server.locked_reason},
    )


_FLAVOR_EMBEDDED = parse("2.47")
PARTS: tuple[tuple[Microversion, Microversion | None, bool], ...] = (
    (MIN, None, False),
    (MIN, _FLAVOR_EMBEDDED, False),
    (_FLAVOR_EMBEDDED, None, False),
    (MIN, None, True),
    (parse("2.3"), None, True),
    (parse("2.9"), None, False),
    (parse("2.16"), None, True),
    (parse("2.19"), None, False),
    (parse("2.26"), None, False),
    (parse("2.63"), None, False),
    (parse("2.73"), None, False),
)
"""For each part of `_parts`: the microversion that shows it, the one that no longer does
(None: still shown), and whether only to admins."""


def shown(version: Microversion, *, admin: bool) -> tuple[int, ...]:
    """The parts (indices into `_parts`) a caller of `version` sees."""
    return tuple(
        i
        for i, (since, before, admin_only) in enumerate(PARTS)
        if since <= version and (before is None or version < before) and (admin or not admin_only)
    )


def detail(
    server: Server, base: str, version: Microversion, *, admin: bool, addresses: Json | None = None
) -> Json:
    """The full server document of one microversion; admin-only attributes for admins;
    `addresses` by network name (service/network/nova.py)."""
    parts = _parts(server, base)
    body = parts[0] | {"addresses": addresses or {}}
    for index in shown(version, admin=admin)[1:]:
        body |= parts[index]
    return body


class Rendered(msgspec.Struct, frozen=True):
    """A server's document encoded once for every caller: each part's JSON members
    (without braces), for the server's row at `version`."""

    version: int
    parts: tuple[bytes, ...]
    tails: dict[tuple[int, ...], bytes] = msgspec.field(default_factory=dict)
    """The document's end after its addresses, for each set of parts shown so far."""

    def tail(self, parts: tuple[int, ...]) -> bytes:
        found = self.tails.get(parts)
        if found is None:
            found = self.tails[parts] = b"".join(b"," + self.parts[i] for i in parts[1:]) + b"}"
        return found


def render(server: Server, base: str) -> Rendered:
    """Encode the parts of `server`'s document."""
    return Rendered(server.version, tuple(_members(part) for part in _parts(server, base)))


def _members(part: Json) -> bytes:
    return msgspec.json.encode(part)[1:-1]


def encoded_details(documents: list[tuple[Rendered, bytes]], parts: tuple[int, ...]) -> bytes:
    """The JSON array of what `detail` builds for each of `documents` (a rendered server
    and its addresses, an encoded JSON object), for a caller who sees `parts` (`shown`)."""
    pieces = [b"["]
    for rendered, addresses in documents:
        pieces += (b",{", rendered.parts[0], b',"addresses":', addresses, rendered.tail(parts))
    if documents:
        pieces[1] = b"{"
    pieces.append(b"]")
    return b"".join(pieces)


class RenderedCache:
    """Rendered documents by server id, each valid for the row version it was rendered
    from (every change of a server's row raises its version); the `size` most recently
    rendered are kept (about 2 KiB each)."""

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._by_id: dict[str, Rendered] = {}

    def get(self, server_id: str, version: int) -> Rendered | None:
        found = self._by_id.get(server_id)
        return found if found is not None and found.version == version else None

    def put(self, server_id: str, rendered: Rendered) -> None:
        self._by_id.pop(server_id, None)
        if len(self._by_id) >= self.size:
            del self._by_id[next(iter(self._by_id))]
        self._by_id[server_id] = rendered


_BASIC = frozenset(
    {
        "id",
        "name",
        "status",
        "image",
        "flavor",
        "fault",
        "user_id",
        "tenant_id",
        "created",
        "updated",
        "progress",
        "metadata",
        "links",
        "addresses",
        "hostId",
        "OS-DCF:diskConfig",
        "accessIPv4",
        "accessIPv6",
        "locked",
        "description",
        "tags",
        "trusted_image_certificates",
        "locked_reason",
    }
)


def basic(server: Server, base: str, version: Microversion, addresses: Json | None = None) -> Json:
    """The document update and rebuild answer with: the server without the extended
    (OS-EXT-*, key name, security groups...) attributes, with its `addresses`."""
    full = detail(server, base, version, admin=False, addresses=addresses)
    return {key: value for key, value in full.items() if key in _BASIC}


def instance_name(server_id: str) -> str:
    """The libvirt domain name of a server."""
    return f"instance-{server_id}"
