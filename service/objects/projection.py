"""The object storage read models (rm_swift_* of migrations/0005_objects.sql), kept inline.

Writes to a container take its row lock first, so concurrent object writes keep the
container's counters exact. An object stored into a missing container, or a container
deleted while it holds objects, fails the append (ContainerMissing / ContainerNotEmpty).
"""

from typing import Any

import msgspec

from events.types import Event, RecordedEvent
from service.objects import events as ev


class ContainerMissing(Exception):
    """An object event names a container that does not exist; nothing was appended."""


class ContainerNotEmpty(Exception):
    """A container was to be deleted while it still holds objects; nothing was appended."""


def _merged(metadata: dict[str, str], set_: dict[str, str], removed: tuple[str, ...]) -> bytes:
    merged = {k: v for k, v in metadata.items() if k not in removed}
    merged.update(set_)
    return msgspec.json.encode(merged)


async def _lock_container(conn: Any, project_id: str, container: str) -> None:
    found = await conn.fetchval(
        "SELECT 1 FROM rm_swift_containers WHERE project_id = $1 AND name = $2 FOR UPDATE",
        project_id,
        container,
    )
    if found is None:
        raise ContainerMissing(f"container {container!r} of {project_id} does not exist")


async def _count(conn: Any, e: ev.ObjectStored | ev.ObjectDeleted, objects: int, size: int) -> None:
    await conn.execute(
        "UPDATE rm_swift_containers SET object_count = object_count + $3,"
        " bytes_used = bytes_used + $4 WHERE project_id = $1 AND name = $2",
        e.project_id,
        e.container,
        objects,
        size,
    )


class ObjectsProjection:
    """Swift accounts, containers and the current version of every object."""

    name: str = "objects"
    tables: tuple[str, ...] = ("rm_swift_accounts", "rm_swift_containers", "rm_swift_objects")
    types: frozenset[str] | None = frozenset(
        cls.type_name()
        for cls in vars(ev).values()
        if isinstance(cls, type) and issubclass(cls, Event) and cls is not Event
    )

    async def apply(self, conn: Any, recorded: RecordedEvent) -> None:
        at = recorded.recorded_at
        match recorded.event:
            case ev.AccountMetadataUpdated() as e:
                old = await conn.fetchval(
                    "SELECT metadata FROM rm_swift_accounts WHERE project_id = $1", e.project_id
                )
                metadata = _merged(msgspec.json.decode(old) if old else {}, e.set, e.removed)
                await conn.execute(
                    "INSERT INTO rm_swift_accounts (project_id, metadata, created_at, updated_at)"
                    " VALUES ($1, $2::jsonb, $3, $3) ON CONFLICT (project_id)"
                    " DO UPDATE SET metadata = $2::jsonb, updated_at = $3",
                    e.project_id,
                    metadata,
                    at,
                )
            case ev.ContainerCreated() as e:
                await conn.execute(
                    "INSERT INTO rm_swift_containers (project_id, name, metadata, created_at,"
                    " updated_at) VALUES ($1, $2, $3::jsonb, $4, $4) ON CONFLICT DO NOTHING",
                    e.project_id,
                    e.container,
                    msgspec.json.encode(e.metadata),
                    at,
                )
            case ev.ContainerMetadataUpdated() as e:
                await _lock_container(conn, e.project_id, e.container)
                old = await conn.fetchval(
                    "SELECT metadata FROM rm_swift_containers WHERE project_id = $1 AND name = $2",
                    e.project_id,
                    e.container,
                )
                await conn.execute(
                    "UPDATE rm_swift_containers SET metadata = $3::jsonb, updated_at = $4"
                    " WHERE project_id = $1 AND name = $2",
                    e.project_id,
                    e.container,
                    _merged(msgspec.json.decode(old), e.set, e.removed),
                    at,
                )
            case ev.ContainerDeleted() as e:
                await _lock_container(conn, e.project_id, e.container)
                deleted = await conn.fetchval(
                    "DELETE FROM rm_swift_containers WHERE project_id = $1 AND name = $2"
                    " AND object_count = 0 RETURNING 1",
                    e.project_id,
                    e.container,
                )
                if deleted is None:
                    raise ContainerNotEmpty(f"container {e.container!r} is not empty")
            case ev.ObjectStored() as e:
                await _lock_container(conn, e.project_id, e.container)
                old_size = await conn.fetchval(
                    "SELECT size FROM rm_swift_objects"
                    " WHERE project_id = $1 AND container = $2 AND name = $3",
                    e.project_id,
                    e.container,
                    e.object,
                )
                await conn.execute(
                    "INSERT INTO rm_swift_objects (project_id, container, name, version_id,"
                    " stream_version, size, etag, content_type, metadata, large_object,"
                    " delete_at, created_at, last_modified) VALUES ($1, $2, $3, $4, $5, $6, $7,"
                    " $8, $9::jsonb, $10, $11, $12, $12)"
                    " ON CONFLICT (project_id, container, name) DO UPDATE SET"
                    " version_id = $4, stream_version = $5, size = $6, etag = $7,"
                    " content_type = $8, metadata = $9::jsonb, large_object = $10,"
                    " delete_at = $11, created_at = $12, last_modified = $12",
                    e.project_id,
                    e.container,
                    e.object,
                    e.version_id,
                    recorded.version,
                    e.size,
                    e.etag,
                    e.content_type,
                    msgspec.json.encode(e.metadata),
                    e.large_object,
                    e.delete_at,
                    at,
                )
                await _count(conn, e, 1 if old_size is None else 0, e.size - (old_size or 0))
            case ev.ObjectMetadataUpdated() as e:
                await conn.execute(
                    "UPDATE rm_swift_objects SET content_type = $4, metadata = $5::jsonb,"
                    " delete_at = $6, stream_version = $7, last_modified = $8"
                    " WHERE project_id = $1 AND container = $2 AND name = $3",
                    e.project_id,
                    e.container,
                    e.object,
                    e.content_type,
                    msgspec.json.encode(e.metadata),
                    e.delete_at,
                    recorded.version,
                    at,
                )
            case ev.ObjectDeleted() as e:
                await _lock_container(conn, e.project_id, e.container)
                size = await conn.fetchval(
                    "DELETE FROM rm_swift_objects WHERE project_id = $1 AND container = $2"
                    " AND name = $3 AND version_id = $4 RETURNING size",
                    e.project_id,
                    e.container,
                    e.object,
                    e.version_id,
                )
                if size is not None:
                    await _count(conn, e, -1, -size)
