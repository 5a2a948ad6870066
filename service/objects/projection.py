"""The object storage read models (rm_swift_* of migrations/0005_objects.sql and
0016_swift_usage_slots.sql), kept inline; containers' and objects' rows by their streams'
folds (service/objects/fold.py).

A container's own events take its row lock first; its creation makes its usage slots,
its deletion, once it has no object rows, removes them. An object's event writes its
object row, then adds to the usage slot of its name, the append's last statement (for a
new version one function, swift_store_object, does both, and with `append` it is the
append's own statement): concurrent writes to one container keep the counts exact and
wait for each other only when their names share a slot, and only from that UPDATE to
their commit.
An object stored into a missing container (the foreign key, or the slot UPDATE finding
no row), or a container deleted while it holds objects, fails the append
(ContainerMissing / ContainerNotEmpty).
"""

from collections.abc import Sequence
from typing import Any

import asyncpg
import msgspec

from events.codec import encode
from events.postgres import Fused, PostgresEventStore
from events.store import AppendResult, StreamAppend
from events.types import Event, Metadata, RecordedEvent
from projections.bulk import FoldedTable, Sides, Statements
from projections.projection import Projection
from projections.rows import load_row, project_row, write_row
from service.objects import events as ev
from service.objects import fold, quota
from service.objects.fold import JSON_COLUMNS, merged


class ContainerMissing(Exception):
    """An object event names a container that does not exist; nothing was appended."""


class ContainerNotEmpty(Exception):
    """A container was to be deleted while it still holds objects or noncurrent versions;
    nothing was appended."""


class PolicyConflict(Exception):
    """A container was to be created under another storage policy than the one it exists
    under (a creation racing another); nothing was appended."""


class MustBeVersioned(Exception):
    """An unversioned version was to be stored into a container whose versioning is
    enabled (migrations/0033); nothing was appended."""


SLOTS = 16
"""A container's usage slots (migrations/0016, 0017: swift_usage_slot picks one of them)."""


def _missing(project_id: str, container: str) -> ContainerMissing:
    return ContainerMissing(f"container {container!r} of {project_id} does not exist")


async def _lock_container(conn: Any, project_id: str, container: str, mode: str) -> None:
    """Lock the container's row `FOR UPDATE` or `FOR KEY SHARE` (only keeps it from being
    deleted); ContainerMissing when there is none."""
    found = await conn.fetchval(
        f"SELECT 1 FROM rm_swift_containers WHERE project_id = $1 AND name = $2 FOR {mode}",
        project_id,
        container,
    )
    if found is None:
        raise _missing(project_id, container)


async def _count(
    conn: Any, project_id: str, container: str, name: str, objects: int, size: int
) -> None:
    """Add to the usage slot of the object's name; ContainerMissing when its container is
    gone. (A replay's pipelined connection answers "" for a held statement: its
    containers existed.)"""
    status = await conn.execute(
        "UPDATE rm_swift_container_slots SET object_count = object_count + $4,"
        " bytes_used = bytes_used + $5"
        " WHERE project_id = $1 AND container = $2 AND slot = swift_usage_slot($3)",
        project_id,
        container,
        name,
        objects,
        size,
    )
    if status == "UPDATE 0":
        raise _missing(project_id, container)


_STORE = "SELECT * FROM swift_store_object($1, $2, $3, $4, $5)"
_QUOTA_KEYS = (list(quota.CONTAINER_KEYS), list(quota.ACCOUNT_KEYS))
NEEDS_QUOTA = "KU101"
"""What swift_append_stored raises for a write that needs its quota enforced."""
MUST_VERSION = "KU102"
"""What swift_store_object raises for an unversioned write into a versioned container."""
STORED_IN_ONE = Fused("swift_append_stored", _QUOTA_KEYS, frozenset({ev.ObjectStored.type_name()}))
"""An append's ObjectStored rows written by its own statement (migrations/0019): this
model is the only inline one that handles ObjectStored."""


async def _store(conn: Any, recorded: RecordedEvent, e: ev.ObjectStored) -> None:
    """ObjectStored by swift_store_object (migrations/0019): the new version's row (as
    service/objects/fold.py's stored_object makes it, for rebuilds) and its slot's counts
    in one statement. A write that adds an object or bytes where there is a quota then
    has it enforced (service/objects/quota.py)."""
    try:
        new_object, quoted = await conn.fetchrow(
            _STORE, encode(e), recorded.version, recorded.recorded_at, *_QUOTA_KEYS
        )
    except asyncpg.ForeignKeyViolationError:
        raise _missing(e.project_id, e.container) from None
    if quoted:
        await quota.enforce(conn, e.project_id, e.container, new_object=new_object)


async def append(
    store: PostgresEventStore, appends: Sequence[StreamAppend], metadata: Metadata
) -> AppendResult:
    """`store.append_streams`, an object's new version and its rows in one statement
    (STORED_IN_ONE) unless its write needs its quota enforced: that one is appended
    again in a transaction of its own, where `_store` enforces it (nothing of the first
    attempt was written). ContainerMissing when an object's container is gone,
    MustBeVersioned for an unversioned version stored where versioning is enabled."""
    try:
        return await store.append_streams(appends, metadata=metadata, fused=STORED_IN_ONE)
    except asyncpg.ForeignKeyViolationError as error:
        raise ContainerMissing(str(error)) from None
    except asyncpg.PostgresError as error:
        _refuse_unversioned(error)
        if error.sqlstate != NEEDS_QUOTA:
            raise
    try:
        return await store.append_streams(appends, metadata=metadata)
    except asyncpg.PostgresError as error:
        _refuse_unversioned(error)
        raise


def _refuse_unversioned(error: asyncpg.PostgresError) -> None:
    if error.sqlstate == MUST_VERSION:
        raise MustBeVersioned(str(error)) from None


async def _make_slots(conn: Any, project_id: str, container: str) -> None:
    await conn.execute(
        "INSERT INTO rm_swift_container_slots (project_id, container, slot)"
        f" SELECT $1, $2, generate_series(0, {SLOTS - 1})",
        project_id,
        container,
    )


async def _remove_slots(conn: Any, project_id: str, container: str) -> None:
    """Remove an empty container's slots (its row locked); ContainerNotEmpty when it holds
    objects, or when a write holds one of its slots. Such a write may be a new object's,
    waiting for the container's row (its foreign key) while holding its slot: the
    container's deletion takes the slots without waiting, which would deadlock."""
    try:
        await conn.execute(
            "SELECT FROM rm_swift_container_slots WHERE project_id = $1 AND container = $2"
            " FOR UPDATE NOWAIT",
            project_id,
            container,
        )
    except asyncpg.LockNotAvailableError:
        raise ContainerNotEmpty(f"container {container!r} is being written to") from None
    if await conn.fetchval(
        "SELECT EXISTS (SELECT FROM rm_swift_objects WHERE project_id = $1 AND container = $2)"
        " OR EXISTS (SELECT FROM rm_swift_versions WHERE project_id = $1 AND container = $2)",
        project_id,
        container,
    ):
        raise ContainerNotEmpty(f"container {container!r} is not empty")
    await conn.execute(
        "DELETE FROM rm_swift_container_slots WHERE project_id = $1 AND container = $2",
        project_id,
        container,
    )


class Accounts:
    """rm_swift_accounts: an account's metadata."""

    name: str = "swift_accounts"
    tables: tuple[str, ...] = ("rm_swift_accounts",)
    types: frozenset[str] | None = frozenset({ev.AccountMetadataUpdated.type_name()})

    async def apply(self, conn: Any, recorded: RecordedEvent) -> None:
        e = recorded.event
        assert isinstance(e, ev.AccountMetadataUpdated)
        at = recorded.recorded_at
        old = await conn.fetchval(
            "SELECT metadata FROM rm_swift_accounts WHERE project_id = $1", e.project_id
        )
        metadata = merged(msgspec.json.decode(old) if old else {}, e.set, e.removed)
        await conn.execute(
            "INSERT INTO rm_swift_accounts (project_id, metadata, created_at, updated_at)"
            " VALUES ($1, $2::jsonb, $3, $3) ON CONFLICT (project_id)"
            " DO UPDATE SET metadata = $2::jsonb, updated_at = $3",
            e.project_id,
            msgspec.json.encode(metadata),
            at,
        )


_ACCOUNTS = Accounts()
SLOT_SUMS = Statements(
    "swift_container_slots",
    "INSERT INTO rm_swift_container_slots (project_id, container, slot, object_count,"
    " bytes_used) SELECT c.project_id, c.name, s.slot, coalesce(u.objects, 0),"
    " coalesce(u.bytes, 0) FROM rm_swift_containers c"
    f" CROSS JOIN generate_series(0, {SLOTS - 1}) AS s(slot) LEFT JOIN (SELECT project_id,"
    " container, swift_usage_slot(name) AS slot, sum(current) AS objects, sum(size) AS bytes"
    " FROM (SELECT project_id, container, name, size, 1 AS current FROM rm_swift_objects"
    " UNION ALL SELECT project_id, container, name, size, 0 FROM rm_swift_versions) v"
    " GROUP BY 1, 2, 3) u ON u.project_id = c.project_id"
    " AND u.container = c.name AND u.slot = s.slot",
)
"""A rebuild's usage slots: every container's, with the sums over its object rows of
each slot (each object's slot computed once): the current versions counted, their bytes
and those of the noncurrent ones added up, which is what the live model's additions
come to (an object is written only while its container exists, and a container goes
only when empty)."""


TYPES = frozenset(
    cls.type_name()
    for cls in vars(ev).values()
    if isinstance(cls, type) and issubclass(cls, Event) and cls is not Event
)
"""The object storage events (service/objects/events.py), all applied by this model."""


class ObjectsProjection:
    """Swift accounts, containers, the current version of every object and the
    noncurrent ones."""

    name: str = "objects"
    tables: tuple[str, ...] = (
        "rm_swift_accounts",
        "rm_swift_containers",
        "rm_swift_objects",
        "rm_swift_versions",
        "rm_swift_container_slots",
    )
    types: frozenset[str] | None = TYPES
    folds: tuple[FoldedTable, ...] = (
        FoldedTable("rm_swift_containers", fold.container, frozenset({"container"}), JSON_COLUMNS),
        FoldedTable("rm_swift_objects", fold.stored_object, frozenset({"object"}), JSON_COLUMNS),
        FoldedTable(
            "rm_swift_versions", fold.versions, frozenset({"object"}), JSON_COLUMNS, fold.kept_rows
        ),
    )
    side: Projection | None = Sides("objects_side", SLOT_SUMS, _ACCOUNTS)
    reads_bodies: bool = True

    async def apply(self, conn: Any, recorded: RecordedEvent) -> None:
        match recorded.event:
            case ev.AccountMetadataUpdated():
                await _ACCOUNTS.apply(conn, recorded)
            case ev.ContainerCreated() | ev.ContainerMetadataUpdated() | ev.ContainerDeleted() as e:
                if not isinstance(e, ev.ContainerCreated):
                    await _lock_container(conn, e.project_id, e.container, "UPDATE")
                key = {"project_id": e.project_id, "name": e.container}
                old = await load_row(conn, "rm_swift_containers", key, json_columns=JSON_COLUMNS)
                if isinstance(e, ev.ContainerCreated) and old is not None:
                    if old["storage_policy"] != e.storage_policy:
                        raise PolicyConflict(f"container {e.container!r} has another policy")
                new = fold.container(old, recorded)
                if old is not None and new is None:
                    await _remove_slots(conn, e.project_id, e.container)
                await write_row(
                    conn, "rm_swift_containers", key, old, new, json_columns=JSON_COLUMNS
                )
                if old is None and new is not None:
                    await _make_slots(conn, e.project_id, e.container)
            case ev.ObjectStored() as e:
                await _store(conn, recorded, e)
            case ev.ObjectMetadataUpdated() | ev.ObjectDeleted() | ev.ObjectVersionDeleted() as e:
                await _change_object(conn, recorded, e)


async def _change_object(
    conn: Any,
    recorded: RecordedEvent,
    e: ev.ObjectMetadataUpdated | ev.ObjectDeleted | ev.ObjectVersionDeleted,
) -> None:
    """An object event other than a new version: its current row by the stream's fold,
    its noncurrent versions by fold.kept, and the usage slot of its name by the
    difference in objects and bytes."""
    key = {"project_id": e.project_id, "container": e.container, "name": e.object}
    try:
        old, new = await project_row(
            conn, "rm_swift_objects", key, fold.stored_object, recorded, json_columns=JSON_COLUMNS
        )
        kept = fold.kept(old, recorded)
        size = await _keep(conn, key, kept)
    except asyncpg.ForeignKeyViolationError:
        raise _missing(e.project_id, e.container) from None
    objects = (new is not None) - (old is not None)
    size += (new["size"] if new else 0) - (old["size"] if old else 0)
    if objects or size:
        await _count(conn, e.project_id, e.container, e.object, objects, size)
    elif old is None and new is None and not kept.added:
        # Nothing written (an existing row proves its container by the key).
        await _lock_container(conn, e.project_id, e.container, "KEY SHARE")


async def _keep(conn: Any, key: dict[str, str], kept: fold.Kept) -> int:
    """Write the noncurrent versions `kept` adds and remove the one it removes; the
    bytes this adds to the object's usage."""
    size = 0
    for row in kept.added:
        version = key | {"version_id": row["version_id"]}
        await write_row(conn, "rm_swift_versions", version, None, row, json_columns=JSON_COLUMNS)
        size += row["size"]
    if kept.removed is not None:
        gone = await conn.fetchval(
            "DELETE FROM rm_swift_versions WHERE project_id = $1 AND container = $2"
            " AND name = $3 AND version_id = $4 RETURNING size",
            *key.values(),
            kept.removed,
        )
        size -= gone or 0
    return size
