"""The host-resource read model: what each compute host offers (zone, enabled, totals,
allocation ratios) and what its servers hold of it, kept inline from the host and
server events (rm_host_resources and rm_host_claims of migrations/0013_host_resources.sql).

A server holds its flavor's vCPUs, RAM and disk (root plus ephemeral) on its host from
the `ServerScheduled` that places it until its `ServerDeleted`; while a resize waits
for confirmation it holds the previous flavor too, as Nova's same-host resize does.
Placing a server is a claim: adding its share to the host's row locks the row until
commit, and a share past the host's capacity (its totals times the allocation ratios)
raises `HostFull`, rolling the whole append back. So racing placements take turns and
never overfill a host. Resizes are recorded, not refused: the server stays on its host.

The projection reads only its own tables and the events, so it rebuilds on its own: a
rebuild folds each server's claim from its stream, replays the host events and sums the
claims into their hosts' usage.
"""

from collections.abc import Collection
from typing import Any

import msgspec

from events.subscription import MEMBER_LOCKS, live_among, live_groups
from events.types import RecordedEvent
from projections.bulk import FoldedTable, Sides, Statements
from projections.projection import Projection
from projections.rows import Row
from service.compute import events as ev

DEFAULT_ZONE = "nova"
"""Nova's default availability zone, of hosts registered without one."""


class HostFull(Exception):
    """A placement would take a host past its capacity; the append was rolled back."""

    def __init__(self, host: str) -> None:
        super().__init__(f"host {host} has no room left for the server")
        self.host = host


class Share(msgspec.Struct, frozen=True):
    """What one server takes of a host."""

    vcpus: int
    memory_mb: int
    disk_gb: int

    @classmethod
    def of(cls, flavor: ev.FlavorSnapshot) -> "Share":
        return cls(flavor.vcpus, flavor.ram, flavor.disk + flavor.ephemeral)

    def negated(self) -> "Share":
        return Share(-self.vcpus, -self.memory_mb, -self.disk_gb)


class HostResources(msgspec.Struct, frozen=True):
    """A row of rm_host_resources: one host as the scheduler sees it."""

    host: str
    availability_zone: str
    enabled: bool
    vcpus: int
    memory_mb: int
    disk_gb: int
    cpu_allocation_ratio: float
    ram_allocation_ratio: float
    disk_allocation_ratio: float
    vcpus_used: int = 0
    memory_mb_used: int = 0
    local_gb_used: int = 0
    running_vms: int = 0
    up: bool = True
    """Whether the host's worker runs now (not a column: read from its reactor's lease)."""

    @property
    def free(self) -> Share:
        """What is left to claim: capacity (totals times ratios) minus what is held."""
        return Share(
            int(self.vcpus * self.cpu_allocation_ratio) - self.vcpus_used,
            int(self.memory_mb * self.ram_allocation_ratio) - self.memory_mb_used,
            int(self.disk_gb * self.disk_allocation_ratio) - self.local_gb_used,
        )

    def fits(self, share: Share) -> bool:
        free = self.free
        return (
            share.vcpus <= free.vcpus
            and share.memory_mb <= free.memory_mb
            and share.disk_gb <= free.disk_gb
        )

    def taking(self, share: Share) -> "HostResources":
        """This host once `share` is claimed on it."""
        return msgspec.structs.replace(
            self,
            vcpus_used=self.vcpus_used + share.vcpus,
            memory_mb_used=self.memory_mb_used + share.memory_mb,
            local_gb_used=self.local_gb_used + share.disk_gb,
            running_vms=self.running_vms + 1,
        )


_COLUMNS = ", ".join(f for f in HostResources.__struct_fields__ if f != "up")


def reactor_group(host: str) -> str:
    """The subscription group of a host's compute reactor: a worker that runs holds its
    member lock (events/subscription.py), which is how the host is known to be up."""
    return f"compute:{host}"


async def hosts_up(db: Any, hosts: Collection[str]) -> set[str]:
    """Those of `hosts` whose worker runs now."""
    live = await live_groups(db, [reactor_group(h) for h in hosts])
    return {h for h in hosts if reactor_group(h) in live}


async def host_resources(db: Any) -> list[HostResources]:
    """Every registered host with its capacity, usage and whether it is up, by name (one
    query)."""
    rows = await db.fetch(
        f"SELECT {_COLUMNS}, ({MEMBER_LOCKS}) AS held FROM rm_host_resources ORDER BY host"
    )
    live = live_among(rows[0]["held"] if rows else None, [reactor_group(r["host"]) for r in rows])
    return [
        HostResources(
            **{k: v for k, v in r.items() if k != "held"}, up=reactor_group(r["host"]) in live
        )
        for r in rows
    ]


class HostRows:
    """rm_host_resources' rows as the host events make them (what they offer, whether
    enabled), their usage aside."""

    name: str = "host_rows"
    tables: tuple[str, ...] = ("rm_host_resources",)
    types: frozenset[str] | None = frozenset(
        cls.type_name() for cls in (ev.HostRegistered, ev.HostStatusChanged)
    )

    async def apply(self, conn: Any, recorded: RecordedEvent) -> None:
        match recorded.event:
            case ev.HostRegistered() as e:
                await _registered(conn, e)
            case ev.HostStatusChanged(host=host, enabled=enabled):
                await conn.execute(
                    "UPDATE rm_host_resources SET enabled = $2 WHERE host = $1", host, enabled
                )


_HOST_ROWS = HostRows()
_USAGE = Statements(
    "host_usage",
    "UPDATE rm_host_resources h SET vcpus_used = c.vcpus, memory_mb_used = c.memory_mb,"
    " local_gb_used = c.disk_gb, running_vms = c.servers"
    " FROM (SELECT host, sum(vcpus + old_vcpus) AS vcpus,"
    " sum(memory_mb + old_memory_mb) AS memory_mb, sum(disk_gb + old_disk_gb) AS disk_gb,"
    " count(*) AS servers FROM rm_host_claims WHERE host IS NOT NULL GROUP BY host) c"
    " WHERE h.host = c.host",
)
"""A rebuild's host usage: the sums of the shares its claims hold, which is what the live
model's charges come to (servers are placed only on registered hosts, and resized only
once placed)."""


def host_claim(row: Row | None, recorded: RecordedEvent) -> Row | None:
    """rm_host_claims' row of a `server-` stream, as the live model keeps it."""
    match recorded.event:
        case ev.ServerCreateRequested(server_id=server_id, flavor=flavor) if row is None:
            share = Share.of(flavor)
            return {"server_id": server_id, "host": None} | _held(share, Share(0, 0, 0))
        case ev.ServerScheduled(host=host) if row is not None and row["host"] is None:
            return row | {"host": host}
        case ev.ServerActionSucceeded(action=action, changes=changes) if row is not None:
            if action not in _RESIZES:
                return row
            current = Share(row["vcpus"], row["memory_mb"], row["disk_gb"])
            old = Share(row["old_vcpus"], row["old_memory_mb"], row["old_disk_gb"])
            return row | _held(*_resize_holds(action, changes, current, old)[0])
        case ev.ServerDeleted():
            return None
    return row


def _held(current: Share, old: Share) -> Row:
    return dict(
        zip(
            ("vcpus", "memory_mb", "disk_gb", "old_vcpus", "old_memory_mb", "old_disk_gb"),
            (*msgspec.structs.astuple(current), *msgspec.structs.astuple(old)),
            strict=True,
        )
    )


class HostResourcesProjection:
    """Keeps rm_host_resources and rm_host_claims; refuses placements past capacity."""

    name: str = "host_resources"
    tables: tuple[str, ...] = ("rm_host_resources", "rm_host_claims")
    types: frozenset[str] | None = frozenset(
        cls.type_name()
        for cls in (
            ev.HostRegistered,
            ev.HostStatusChanged,
            ev.ServerCreateRequested,
            ev.ServerScheduled,
            ev.ServerActionSucceeded,
            ev.ServerDeleted,
        )
    )

    folds: tuple[FoldedTable, ...] = (
        FoldedTable("rm_host_claims", host_claim, frozenset({"server"})),
    )
    side: Projection | None = Sides("host_side", _HOST_ROWS, _USAGE)
    reads_bodies: bool = True

    async def apply(self, conn: Any, recorded: RecordedEvent) -> None:
        match recorded.event:
            case ev.HostRegistered() | ev.HostStatusChanged():
                await _HOST_ROWS.apply(conn, recorded)
            case ev.ServerCreateRequested(server_id=server_id, flavor=flavor):
                share = Share.of(flavor)
                await conn.execute(
                    "INSERT INTO rm_host_claims (server_id, vcpus, memory_mb, disk_gb)"
                    " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                    server_id,
                    share.vcpus,
                    share.memory_mb,
                    share.disk_gb,
                )
            case ev.ServerScheduled(server_id=server_id, host=host):
                await _placed(conn, server_id, host)
            case ev.ServerActionSucceeded(server_id=server_id, action=action, changes=changes):
                await _resized(conn, server_id, action, changes)
            case ev.ServerDeleted(server_id=server_id):
                claim = await conn.fetchrow(
                    "DELETE FROM rm_host_claims WHERE server_id = $1 RETURNING *", server_id
                )
                if claim is not None and claim["host"] is not None:
                    held = Share(
                        claim["vcpus"] + claim["old_vcpus"],
                        claim["memory_mb"] + claim["old_memory_mb"],
                        claim["disk_gb"] + claim["old_disk_gb"],
                    )
                    await _charge(conn, claim["host"], held.negated(), -1)


async def _registered(conn: Any, e: ev.HostRegistered) -> None:
    await conn.execute(
        "INSERT INTO rm_host_resources (host, availability_zone, vcpus, memory_mb, disk_gb,"
        " cpu_allocation_ratio, ram_allocation_ratio, disk_allocation_ratio)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (host) DO UPDATE SET"
        " availability_zone = $2, vcpus = $3, memory_mb = $4, disk_gb = $5,"
        " cpu_allocation_ratio = $6, ram_allocation_ratio = $7, disk_allocation_ratio = $8",
        e.host,
        e.availability_zone,
        e.vcpus,
        e.memory_mb,
        e.disk_gb,
        e.cpu_allocation_ratio,
        e.ram_allocation_ratio,
        e.disk_allocation_ratio,
    )


async def _placed(conn: Any, server_id: str, host: str) -> None:
    """Claim the server's share on `host`; HostFull if it does not fit there now."""
    claim = await conn.fetchrow(
        "UPDATE rm_host_claims SET host = $2 WHERE server_id = $1 AND host IS NULL"
        " RETURNING vcpus, memory_mb, disk_gb",
        server_id,
        host,
    )
    if claim is None:  # unknown server, or placed already
        return
    after = await _charge(conn, host, Share(**dict(claim)), 1)
    if after is not None and min(msgspec.structs.astuple(after.free)) < 0:
        raise HostFull(host)


async def _resized(conn: Any, server_id: str, action: str, changes: dict[str, Any]) -> None:
    """A resize holds both flavors until it is confirmed (the old one goes) or reverted
    (the new one goes)."""
    if action not in _RESIZES:
        return
    claim = await conn.fetchrow(
        "SELECT * FROM rm_host_claims WHERE server_id = $1 FOR UPDATE", server_id
    )
    if claim is None:
        return
    current = Share(claim["vcpus"], claim["memory_mb"], claim["disk_gb"])
    old = Share(claim["old_vcpus"], claim["old_memory_mb"], claim["old_disk_gb"])
    held, change = _resize_holds(action, changes, current, old)
    await conn.execute(
        "UPDATE rm_host_claims SET vcpus = $2, memory_mb = $3, disk_gb = $4, old_vcpus = $5,"
        " old_memory_mb = $6, old_disk_gb = $7 WHERE server_id = $1",
        server_id,
        *msgspec.structs.astuple(held[0]),
        *msgspec.structs.astuple(held[1]),
    )
    if claim["host"] is not None:
        await _charge(conn, claim["host"], change, 0)


_RESIZES = ("resize", "confirmResize", "revertResize")


def _resize_holds(
    action: str, changes: dict[str, Any], current: Share, old: Share
) -> tuple[tuple[Share, Share], Share]:
    """What a claim holds after a resize step (its current and its old share), and the
    change to its host's usage."""
    if action == "resize":
        new = Share.of(msgspec.convert(changes["flavor"], ev.FlavorSnapshot))
        return (new, current), new
    if action == "confirmResize":
        return (current, Share(0, 0, 0)), old.negated()
    return (old, Share(0, 0, 0)), current.negated()


async def _charge(conn: Any, host: str, share: Share, servers: int) -> HostResources | None:
    """Add a share (negative: give it back) and a number of servers to the host's usage,
    locking its row until commit; the host after, or None if it is not registered."""
    row = await conn.fetchrow(
        "UPDATE rm_host_resources SET vcpus_used = vcpus_used + $2,"
        " memory_mb_used = memory_mb_used + $3, local_gb_used = local_gb_used + $4,"
        f" running_vms = running_vms + $5 WHERE host = $1 RETURNING {_COLUMNS}",
        host,
        *msgspec.structs.astuple(share),
        servers,
    )
    return None if row is None else HostResources(**dict(row))
