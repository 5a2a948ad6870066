"""Reading the compute read models (rm_* of migrations/0006_compute.sql): typed rows and
the lookups the compute API needs."""

import uuid
from datetime import datetime
from typing import Any, TypeVar

import msgspec

from service.compute.events import FlavorSnapshot

T = TypeVar("T")


class Flavor(msgspec.Struct, frozen=True):
    id: str
    name: str
    vcpus: int
    ram: int
    disk: int
    ephemeral: int
    swap: int
    rxtx_factor: float
    is_public: bool
    description: str | None
    extra_specs: dict[str, str]
    created_at: datetime

    def snapshot(self) -> FlavorSnapshot:
        """The flavor as a server embeds it."""
        return FlavorSnapshot(
            id=self.id, name=self.name, vcpus=self.vcpus, ram=self.ram, disk=self.disk,
            ephemeral=self.ephemeral, swap=self.swap, extra_specs=self.extra_specs,
        )  # fmt: skip


class Keypair(msgspec.Struct, frozen=True):
    id: str
    user_id: str
    name: str
    public_key: str
    fingerprint: str
    type: str
    created_at: datetime


class Fault(msgspec.Struct, frozen=True):
    """Why a server is in ERROR, as Nova shows it."""

    code: int
    message: str
    details: str
    created: str


_ACTIVE_TASKS = {
    "rebooting": "REBOOT",
    "reboot_pending": "REBOOT",
    "reboot_started": "REBOOT",
    "rebooting_hard": "HARD_REBOOT",
    "reboot_pending_hard": "HARD_REBOOT",
    "reboot_started_hard": "HARD_REBOOT",
    "rebuilding": "REBUILD",
    "rebuild_block_device_mapping": "REBUILD",
    "rebuild_spawning": "REBUILD",
    "resize_prep": "RESIZE",
    "resize_migrating": "RESIZE",
    "resize_migrated": "RESIZE",
    "resize_finish": "RESIZE",
    "updating_password": "PASSWORD",
}
_STATES = {
    "building": "BUILD",
    "stopped": "SHUTOFF",
    "paused": "PAUSED",
    "suspended": "SUSPENDED",
    "resized": "VERIFY_RESIZE",
    "error": "ERROR",
    "deleted": "DELETED",
    "soft-deleted": "SOFT_DELETED",
    "rescued": "RESCUE",
    "shelved": "SHELVED",
    "shelved_offloaded": "SHELVED_OFFLOADED",
}


class Server(msgspec.Struct, frozen=True):
    """A row of rm_servers, with Nova's status for its vm and task states."""

    id: str
    project_id: str
    user_id: str
    name: str
    vm_state: str
    task_state: str | None
    power_state: int
    flavor: FlavorSnapshot
    image_id: str
    key_name: str | None
    public_key: str | None
    """The key pair's public key as copied in at create or rebuild (kept if it goes)."""
    key_type: str | None
    metadata: dict[str, str]
    availability_zone: str
    host: str | None
    node: str | None
    config_drive: bool
    reservation_id: str
    launch_index: int
    security_groups: list[str]
    server_group_id: str | None
    tags: list[str]
    description: str | None
    access_ipv4: str
    access_ipv6: str
    hostname: str
    disk_config: str
    user_data: str | None
    locked: bool
    locked_by: str | None
    locked_reason: str | None
    fault: dict[str, Any] | None
    previous_flavor: FlavorSnapshot | None
    created_at: datetime
    updated_at: datetime
    launched_at: datetime | None
    terminated_at: datetime | None
    deleted: bool
    version: int

    @property
    def status(self) -> str:
        """Nova's status for the vm state and task state."""
        if self.vm_state == "active":
            return _ACTIVE_TASKS.get(self.task_state or "", "ACTIVE")
        if self.vm_state == "resized" and self.task_state == "resize_reverting":
            return "REVERT_RESIZE"
        if self.vm_state in ("stopped", "error") and self.task_state == "rebuilding":
            return "REBUILD"
        return _STATES.get(self.vm_state, "UNKNOWN")


class InstanceAction(msgspec.Struct, frozen=True):
    server_id: str
    request_id: str
    action: str
    project_id: str
    user_id: str | None
    start_time: datetime
    finish_time: datetime | None
    message: str | None
    result: str | None
    position: int


class SecurityGroup(msgspec.Struct, frozen=True):
    id: str
    project_id: str
    name: str
    description: str
    created_at: datetime


class SecurityGroupRule(msgspec.Struct, frozen=True):
    id: str
    group_id: str
    direction: str
    ethertype: str
    protocol: str | None
    port_range_min: int | None
    port_range_max: int | None
    remote_ip_prefix: str | None
    remote_group_id: str | None


class ServerGroup(msgspec.Struct, frozen=True):
    id: str
    project_id: str
    user_id: str
    name: str
    policy: str
    rules: dict[str, int]
    created_at: datetime


class Host(msgspec.Struct, frozen=True):
    name: str
    uri: str
    hypervisor_type: str
    vcpus: int
    memory_mb: int
    disk_gb: int
    availability_zone: str
    enabled: bool
    disabled_reason: str | None
    registered_at: datetime
    updated_at: datetime
    booted_at: datetime | None


class Aggregate(msgspec.Struct, frozen=True):
    id: str
    uuid: str
    name: str
    availability_zone: str | None
    hosts: list[str]
    metadata: dict[str, str]
    created_at: datetime
    updated_at: datetime | None
    deleted: bool


class QuotaUsage(msgspec.Struct, frozen=True):
    """What a project's servers hold of its quota."""

    project_id: str
    instances: int = 0
    cores: int = 0
    ram: int = 0


_TABLES: dict[type, tuple[str, str, str]] = {
    # type: (table, key column, default order)
    Flavor: ("rm_flavors", "id", "id"),
    Keypair: ("rm_keypairs", "id", "name"),
    Server: ("rm_servers", "id", "created_at DESC, id"),
    InstanceAction: ("rm_instance_actions", "request_id", "position DESC"),
    SecurityGroup: ("rm_security_groups", "id", "name, id"),
    SecurityGroupRule: ("rm_security_group_rules", "id", "id"),
    ServerGroup: ("rm_server_groups", "id", "created_at, id"),
    Host: ("rm_hosts", "name", "registered_at, name"),
    QuotaUsage: ("rm_quota_usage", "project_id", "project_id"),
    Aggregate: ("rm_aggregates", "id", "id::bigint"),
}


def register(type_: type, table: str, key: str, order: str) -> None:
    """Let `get`, `select` and `count` read another read model's rows as `type_` (the
    network service's, say): its table, key column and natural order."""
    _TABLES[type_] = (table, key, order)


def columns(type_: type) -> str:
    """The columns of `type_`'s table, in its fields' order."""
    return ", ".join(type_.__struct_fields__)  # type: ignore[attr-defined]


def row_to(type_: type[T], row: Any) -> T:
    """A typed row; jsonb columns (raw JSON bytes from the pool's codec) are decoded."""
    record = {k: msgspec.json.decode(v) if isinstance(v, bytes) else v for k, v in row.items()}
    return msgspec.convert(record, type_)


async def get(db: Any, type_: type[T], key: str) -> T | None:
    """The row of `type_` whose key (its id; a host's name) is `key`, or None."""
    table, key_column, _ = _TABLES[type_]
    row = await db.fetchrow(f"SELECT {columns(type_)} FROM {table} WHERE {key_column} = $1", key)
    return None if row is None else row_to(type_, row)


async def select(
    db: Any, type_: type[T], where: str = "true", *args: Any, order: str | None = None
) -> list[T]:
    """Rows of `type_` matching a SQL condition over its columns, in `order` (SQL; the
    type's natural order by default)."""
    table, _, natural = _TABLES[type_]
    rows = await db.fetch(
        f"SELECT {columns(type_)} FROM {table} WHERE {where} ORDER BY {order or natural}", *args
    )
    return [row_to(type_, r) for r in rows]


async def count(db: Any, type_: type, where: str = "true", *args: Any) -> int:
    """How many rows of `type_` match a SQL condition."""
    table = _TABLES[type_][0]
    found: int = await db.fetchval(f"SELECT count(*) FROM {table} WHERE {where}", *args)
    return found


async def usage(db: Any, project_id: str) -> QuotaUsage:
    """The instances, cores and RAM a project's servers hold (zeros if it has none)."""
    return await get(db, QuotaUsage, project_id) or QuotaUsage(project_id)


async def visible_flavor(
    db: Any, flavor_id: str, project_id: str | None, admin: bool
) -> Flavor | None:
    """The flavor if the caller may see it (public, shared with its project, or any for
    an admin), else None as if it did not exist."""
    if admin:
        return await get(db, Flavor, flavor_id)
    found = await select(db, Flavor, f"id = $1 AND {FLAVOR_VISIBLE.format(p='$2')}",
                         flavor_id, project_id)  # fmt: skip
    return found[0] if found else None


FLAVOR_VISIBLE = (
    "(is_public OR id IN (SELECT flavor_id FROM rm_flavor_access WHERE project_id = {p}))"
)
"""The condition on rm_flavors for flavors a project sees; `{p}` is its argument."""


_HOST_IDS = uuid.UUID("0c6b1f4e-3a52-5d8e-9c41-6b0e2f7a9d13")


def host_uuid(host: str, role: str) -> str:
    """The uuid Nova shows from 2.53 for the host's hypervisor or compute service (`role`),
    derived from the host's name: as stable as its number."""
    return str(uuid.uuid5(_HOST_IDS, f"{role}:{host}"))


async def numbered_hosts(db: Any) -> list[tuple[int, Host]]:
    """Every host with its number: its place in registration order, from 1, which Nova
    shows as the integer id of its hypervisor and compute service (hosts are never
    removed, so numbers do not change)."""
    return list(enumerate(await select(db, Host), start=1))


async def get_server(db: Any, server_id: str) -> Server | None:
    """The server, deleted ones included, or None."""
    return await get(db, Server, server_id)
