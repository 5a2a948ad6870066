"""The object storage read models (rm_swift_* of migrations/0005_objects.sql), kept inline;
containers' and objects' rows by their streams' folds (service/objects/fold.py).

A container's own events take its row lock first. An object's event locks its object
row, then adds to its container's counters with one UPDATE, the append's last statement:
concurrent writes to one container keep the counters exact and wait for each other only
from that UPDATE to their commit, not for their whole append. An object stored into a
missing container (the foreign key, or the counter UPDATE finding no row), or a container
deleted while it holds objects, fails the append (ContainerMissing / ContainerNotEmpty).
"""

from typing import Any

import asyncpg
import msgspec

from events.types import Event, RecordedEvent
from projections.bulk import FoldedTable, Sides, Statements
from projections.projection import Projection
from projections.rows import load_row, project_row, write_row
from service.objects import events as ev
from service.objects import fold
from service.objects.fold import JSON_COLUMNS, merged


class ContainerMissing(Exception):
    """An object event names a container that does not exist; nothing was appended."""


class ContainerNotEmpty(Exception):
    """A container was to be deleted while it still holds objects; nothing was appended."""


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


async def _count(conn: Any, project_id: str, container: str, objects: int, size: int) -> None:
    """Add to the container's counters; ContainerMissing when it is gone. (A replay's
    pipelined connection answers "" for a held statement: its containers existed.)"""
    status = await conn.execute(
        "UPDATE rm_swift_containers SET object_count = object_count + $3,"
        " bytes_used = bytes_used + $4 WHERE project_id = $1 AND name = $2",
        project_id,
        container,
        objects,
        size,
    )
    if status == "UPDATE 0":
        raise _missing(project_id, container)


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
_TOTALS = Statements(
    "swift_container_totals",
    "UPDATE rm_swift_containers c SET object_count = o.objects, bytes_used = o.bytes"
    " FROM (SELECT project_id, container, count(*) AS objects, sum(size) AS bytes"
    " FROM rm_swift_objects GROUP BY project_id, container) o"
    " WHERE c.project_id = o.project_id AND c.name = o.container",
)
"""A rebuild's container counters: the sums over the containers' object rows, which is
what the live model's additions come to (an object is written only while its container
exists, and a container goes only when empty)."""


class ObjectsProjection:
    """Swift accounts, containers and the current version of every object."""

    name: str = "objects"
    tables: tuple[str, ...] = ("rm_swift_accounts", "rm_swift_containers", "rm_swift_objects")
    types: frozenset[str] | None = frozenset(
        cls.type_name()
        for cls in vars(ev).values()
        if isinstance(cls, type) and issubclass(cls, Event) and cls is not Event
    )
    folds: tuple[FoldedTable, ...] = (
        FoldedTable("rm_swift_containers", fold.container, frozenset({"container"}), JSON_COLUMNS),
        FoldedTable("rm_swift_objects", fold.stored_object, frozenset({"object"}), JSON_COLUMNS),
    )
    side: Projection | None = Sides("objects_side", _TOTALS, _ACCOUNTS)
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
                if isinstance(e, ev.ContainerDeleted) and old and old["object_count"]:
                    raise ContainerNotEmpty(f"container {e.container!r} is not empty")
                new = fold.container(old, recorded)
                await write_row(
                    conn, "rm_swift_containers", key, old, new, json_columns=JSON_COLUMNS
                )
            case ev.ObjectStored() | ev.ObjectMetadataUpdated() | ev.ObjectDeleted() as e:
                key = {"project_id": e.project_id, "container": e.container, "name": e.object}
                try:
                    old, new = await project_row(
                        conn,
                        "rm_swift_objects",
                        key,
                        fold.stored_object,
                        recorded,
                        json_columns=JSON_COLUMNS,
                    )
                except asyncpg.ForeignKeyViolationError:
                    raise _missing(e.project_id, e.container) from None
                objects = (new is not None) - (old is not None)
                size = (new["size"] if new else 0) - (old["size"] if old else 0)
                if objects or size:
                    await _count(conn, e.project_id, e.container, objects, size)
                elif old is None and new is None:
                    # Nothing written (an existing row proves its container by the key).
                    await _lock_container(conn, e.project_id, e.container, "KEY SHARE")
