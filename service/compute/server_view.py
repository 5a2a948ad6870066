"""Servers as Nova shows them: the read-model row, Nova's status, and the JSON of each
microversion Kumo serves (2.1 base; 2.3 extended attributes; 2.9 locked; 2.16
host_status; 2.19 description; 2.26 tags)."""

import hashlib
from datetime import UTC, datetime
from typing import Any

from service.compute.api.microversion import Microversion
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


def summary(server: Server, base: str) -> Json:
    return {"id": server.id, "name": server.name, "links": links(base, "servers", server.id)}


def detail(
    server: Server, base: str, version: Microversion, *, admin: bool, addresses: Json | None = None
) -> Json:
    """The full server document of one microversion; admin-only attributes for admins;
    `addresses` by network name (service/network/nova.py)."""
    status = server.status
    body: Json = {
        "id": server.id,
        "name": server.name,
        "status": status,
        "tenant_id": server.project_id,
        "user_id": server.user_id,
        "metadata": server.metadata,
        "hostId": host_id(server),
        "image": {"id": server.image_id, "links": links(base, "images", server.image_id)[1:]},
        "flavor": {"id": server.flavor.id, "links": links(base, "flavors", server.flavor.id)[1:]},
        "created": nova_time(server.created_at),
        "updated": nova_time(server.updated_at),
        "addresses": addresses or {},
        "accessIPv4": server.access_ipv4,
        "accessIPv6": server.access_ipv6,
        "links": links(base, "servers", server.id),
        "OS-DCF:diskConfig": "MANUAL",
        "key_name": server.key_name,
        "security_groups": [{"name": name} for name in server.security_groups],
        "OS-SRV-USG:launched_at": usage_time(server.launched_at),
        "OS-SRV-USG:terminated_at": usage_time(server.terminated_at),
        "OS-EXT-AZ:availability_zone": server.availability_zone,
        "OS-EXT-STS:task_state": server.task_state,
        "OS-EXT-STS:vm_state": server.vm_state,
        "OS-EXT-STS:power_state": server.power_state,
        "os-extended-volumes:volumes_attached": [],
        "config_drive": "True" if server.config_drive else "",
    }
    if status in _PROGRESS_STATUSES:
        body["progress"] = 100 if status == "ACTIVE" else 0
    if server.fault is not None and status in ("ERROR", "DELETED"):
        body["fault"] = server.fault
    if admin:
        body |= {
            "OS-EXT-SRV-ATTR:host": server.host,
            "OS-EXT-SRV-ATTR:instance_name": instance_name(server.id),
            "OS-EXT-SRV-ATTR:hypervisor_hostname": server.node,
        }
        if version.at_least("2.3"):
            body |= {
                "OS-EXT-SRV-ATTR:reservation_id": server.reservation_id,
                "OS-EXT-SRV-ATTR:launch_index": server.launch_index,
                "OS-EXT-SRV-ATTR:kernel_id": "",
                "OS-EXT-SRV-ATTR:ramdisk_id": "",
                "OS-EXT-SRV-ATTR:hostname": server.hostname,
                "OS-EXT-SRV-ATTR:root_device_name": "/dev/vda",
                "OS-EXT-SRV-ATTR:user_data": None,
            }
    if version.at_least("2.9"):
        body["locked"] = server.locked
    if version.at_least("2.16") and admin:
        body["host_status"] = "UP" if server.host else ""
    if version.at_least("2.19"):
        body["description"] = server.description
    if version.at_least("2.26"):
        body["tags"] = server.tags
    return body


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
    }
)


def basic(server: Server, base: str, version: Microversion) -> Json:
    """The document update and rebuild answer with: the server without the extended
    (OS-EXT-*, key name, security groups...) attributes."""
    full = detail(server, base, version, admin=False)
    return {key: value for key, value in full.items() if key in _BASIC}


def instance_name(server_id: str) -> str:
    """The libvirt domain name of a server."""
    return f"instance-{server_id}"
