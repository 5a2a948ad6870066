"""Migration 0035 on a database written before it: each server's copy of its key pair is
what the server's fold makes of its events, so `kumo verify` finds nothing to report."""

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from events.postgres import PostgresEventStore, create_pool
from events.types import Event
from projections.rows import fold, write_row
from service.compute import events as ev
from service.compute import fold as rows
from service.migrator import MIGRATIONS_DIR, migrate
from tests.conftest import _on_server, with_database
from tests.integration.compute.hypervisor_helpers import PUBLIC_KEY as KEY
from tests.integration.objects.test_usage_migration import migrations_before

KEYED = {"key_name": "k", "public_key": KEY}
CASES: list[tuple[dict[str, str], list[dict[str, object]], tuple[str | None, str | None]]] = [
    ({}, [], (None, None)),
    (KEYED, [], (KEY, "ssh")),
    ({"key_name": "c", "public_key": "PEM", "key_type": "x509"}, [], ("PEM", "x509")),
    (KEYED, [{"key_name": None}], (None, None)),
    # a rebuild with another key pair, recorded before 0035, copied none of it in
    (KEYED, [{"key_name": "k2"}, {"name": "kept"}], (None, None)),
]
"""A server's key pair at create, its rebuilds' params, and the key and type it keeps."""


def history(server_id: str, key: dict[str, str], rebuilds: list[dict[str, object]]) -> list[Event]:
    created = ev.ServerCreateRequested(
        server_id=server_id,
        project_id="p",
        user_id="u",
        name="s",
        flavor=ev.FlavorSnapshot(id="1", name="m1.nano", vcpus=1, ram=128, disk=1),
        image_id="i",
        availability_zone="nova",
        reservation_id="r-1",
        key_name=key.get("key_name"),
        public_key=key.get("public_key"),
        key_type=key.get("key_type", "ssh"),
    )
    return [
        created,
        *(
            ev.ServerActionRequested(
                server_id=server_id,
                action="rebuild",
                task_state="rebuilding",
                params={"image_id": "i"} | params,
            )
            for params in rebuilds
        ),
    ]


@pytest.fixture
async def database(server_url: str, tmp_path: Path) -> AsyncIterator[str]:
    """A database of its own with the migrations before 0035."""
    name = f"kumo_keys_{uuid.uuid4().hex[:12]}"
    await _on_server(server_url, f"CREATE DATABASE {name}")
    try:
        url = with_database(server_url, name)
        await migrate(url, migrations_before(tmp_path, "0035"))
        yield url
    finally:
        await _on_server(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def test_0035_gives_each_server_the_key_its_fold_gives_it(database: str) -> None:
    pool = await create_pool(database, min_size=1, max_size=2)
    try:
        store = PostgresEventStore(pool)
        folded, expected = {}, {}
        for key, rebuilds, kept in CASES:
            server_id = str(uuid.uuid4())
            stream = f"server-{server_id}"
            await store.append(stream, history(server_id, key, rebuilds))
            row = fold(rows.server, await store.read_stream(stream))
            assert row is not None
            folded[server_id] = (row.pop("public_key"), row.pop("key_type"))
            expected[server_id] = kept
            async with pool.acquire() as conn:  # the row as the projection kept it before
                await write_row(
                    conn, "rm_servers", {"id": server_id}, None, row, json_columns=rows.SERVER_JSON
                )
        assert folded == expected
        assert await migrate(database) == [
            p.name for p in sorted(MIGRATIONS_DIR.glob("*.sql")) if p.name >= "0035"
        ]
        found = await pool.fetch("SELECT id, public_key, key_type FROM rm_servers")
        assert {r["id"]: (r["public_key"], r["key_type"]) for r in found} == expected
    finally:
        await pool.close()
