"""Migration 0016 on a database written before it: each container's counters become its
usage slots, with the same totals, and the slots are what a rebuild makes of the rows."""

import shutil
from pathlib import Path

import asyncpg

from service.migrator import MIGRATIONS_DIR, migrate
from service.objects.projection import SLOT_SUMS
from tests.conftest import _on_server, with_database

_OBJECT = (
    "INSERT INTO rm_swift_objects (project_id, container, name, version_id, stream_version,"
    " size, etag, content_type, created_at, last_modified)"
    " SELECT $1, $2, 'o' || n, 'v', 1, n, 'e', 'text/plain', now(), now()"
    " FROM generate_series(1, $3) n"
)


async def test_0016_turns_container_counters_into_slots(server_url: str, tmp_path: Path) -> None:
    earlier = tmp_path / "migrations"
    earlier.mkdir()
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        if path.name < "0016":
            shutil.copy(path, earlier)
    name = f"kumo_slots_{tmp_path.name[-12:].lower().replace('-', '_')}"
    await _on_server(server_url, f"CREATE DATABASE {name}")
    url = with_database(server_url, name)
    try:
        await migrate(url, earlier)
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
            assert await migrate(url) == [
                p.name for p in sorted(MIGRATIONS_DIR.glob("*.sql")) if p.name >= "0016"
            ]
            counted = await conn.fetch(
                "SELECT name, object_count, bytes_used FROM rm_swift_containers_counted"
                " ORDER BY name"
            )
            totals = [("empty", 0, 0), ("full", 300, 45150), ("one", 1, 1)]
            assert [tuple(r) for r in counted] == totals
            slots = await conn.fetch(
                "SELECT container, slot, object_count FROM rm_swift_container_slots"
                " WHERE object_count > 0 ORDER BY container, slot"
            )
            assert len({r["slot"] for r in slots if r["container"] == "full"}) > 32
            assert await conn.fetchval("SELECT count(*) FROM rm_swift_container_slots") == 3 * 64
            migrated = await conn.fetch("TABLE rm_swift_container_slots ORDER BY 1, 2, 3")
            await conn.execute("TRUNCATE rm_swift_container_slots")
            await SLOT_SUMS.rebuild_rows(conn, None)
            assert await conn.fetch("TABLE rm_swift_container_slots ORDER BY 1, 2, 3") == migrated
        finally:
            await conn.close()
    finally:
        await _on_server(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
