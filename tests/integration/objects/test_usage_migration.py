"""Migrations 0016 and 0017 on a database written before them: each container's counters
become its 64 usage slots, then fold into 16, with the same totals each time, and the
slots are what a rebuild makes of the rows."""

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from service.migrator import MIGRATIONS_DIR, migrate
from service.objects.projection import SLOT_SUMS, SLOTS
from tests.conftest import _on_server, with_database

_OBJECT = (
    "INSERT INTO rm_swift_objects (project_id, container, name, version_id, stream_version,"
    " size, etag, content_type, created_at, last_modified)"
    " SELECT $1, $2, 'o' || n, 'v', 1, n, 'e', 'text/plain', now(), now()"
    " FROM generate_series(1, $3) n"
)
_TOTALS = [("empty", 0, 0), ("full", 300, 45150), ("one", 1, 1)]


def migrations_before(tmp_path: Path, number: str) -> Path:
    """A folder of the migrations numbered below `number`."""
    folder = tmp_path / f"before-{number}"
    folder.mkdir()
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        if path.name < number:
            shutil.copy(path, folder)
    return folder


@pytest.fixture
async def database(server_url: str, tmp_path: Path) -> AsyncIterator[str]:
    """A database of its own with the migrations before 0016, holding three containers
    (300 objects, one, none) with their counters as they were kept then."""
    name = f"kumo_slots_{tmp_path.name[-12:].lower().replace('-', '_')}"
    await _on_server(server_url, f"CREATE DATABASE {name}")
    url = with_database(server_url, name)
    try:
        await migrate(url, migrations_before(tmp_path, "0016"))
        conn = await asyncpg.connect(url)
        try:
            for container, objects in (("full", 300), ("one", 1), ("empty", 0)):
                await conn.execute(
                    "INSERT INTO rm_swift_containers (project_id, name, object_count,"
                    " bytes_used, created_at, updated_at) VALUES ('p', $1, $2, $3, now(), now())",
                    container,
                    objects,
                    objects * (objects + 1) // 2,
                )
                await conn.execute(_OBJECT, "p", container, objects)
        finally:
            await conn.close()
        yield url
    finally:
        await _on_server(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def counted(conn: asyncpg.Connection) -> list[tuple[str, int, int]]:
    rows = await conn.fetch(
        "SELECT name, object_count, bytes_used FROM rm_swift_containers_counted ORDER BY name"
    )
    return [tuple(r) for r in rows]


async def used_slots(conn: asyncpg.Connection, container: str) -> set[int]:
    rows = await conn.fetch(
        "SELECT slot FROM rm_swift_container_slots WHERE container = $1 AND object_count > 0",
        container,
    )
    return {r["slot"] for r in rows}


async def test_0016_then_0017_keep_the_totals_and_match_a_rebuild(
    database: str, tmp_path: Path
) -> None:
    assert await migrate(database, migrations_before(tmp_path, "0017")) == [
        "0016_swift_usage_slots.sql"
    ]
    conn = await asyncpg.connect(database)
    try:
        assert await counted(conn) == _TOTALS
        assert len(await used_slots(conn, "full")) > 32  # 300 names over 64 slots
        assert await conn.fetchval("SELECT count(*) FROM rm_swift_container_slots") == 3 * 64

        assert await migrate(database) == [
            p.name for p in sorted(MIGRATIONS_DIR.glob("*.sql")) if p.name >= "0017"
        ]
        assert await counted(conn) == _TOTALS
        assert await used_slots(conn, "full") == set(range(SLOTS))
        assert await conn.fetchval("SELECT count(*) FROM rm_swift_container_slots") == 3 * SLOTS
        migrated = await conn.fetch("TABLE rm_swift_container_slots ORDER BY 1, 2, 3")
        await conn.execute("TRUNCATE rm_swift_container_slots")
        await SLOT_SUMS.rebuild_rows(conn, None)
        assert await conn.fetch("TABLE rm_swift_container_slots ORDER BY 1, 2, 3") == migrated
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute(
                "INSERT INTO rm_swift_container_slots (project_id, container, slot)"
                " VALUES ('p', 'one', $1)",
                SLOTS,
            )
    finally:
        await conn.close()
