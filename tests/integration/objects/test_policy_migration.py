"""Migration 0036 on a database written before storage policies: its containers are
Policy-0's, as their events decode, and the usage view names each one's policy."""

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from service.migrator import migrate
from tests.conftest import _on_server, with_database
from tests.integration.objects.test_usage_migration import migrations_before


@pytest.fixture
async def database(server_url: str, tmp_path: Path) -> AsyncIterator[str]:
    """A database of its own with the migrations before 0036 and one container."""
    name = f"kumo_policies_{tmp_path.name[-12:].lower().replace('-', '_')}"
    await _on_server(server_url, f"CREATE DATABASE {name}")
    url = with_database(server_url, name)
    try:
        await migrate(url, migrations_before(tmp_path, "0036"))
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(
                "INSERT INTO rm_swift_containers (project_id, name, created_at, updated_at)"
                " VALUES ('p', 'old', now(), now())"
            )
        finally:
            await conn.close()
        yield url
    finally:
        await _on_server(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def test_containers_from_before_policies_are_policy_0s(database: str) -> None:
    assert "0036_swift_storage_policies.sql" in await migrate(database)
    conn = await asyncpg.connect(database)
    try:
        row = await conn.fetchrow(
            "SELECT name, storage_policy FROM rm_swift_containers_counted WHERE project_id = 'p'"
        )
        assert tuple(row) == ("old", "Policy-0")
        with pytest.raises(asyncpg.NotNullViolationError):  # every new row names its policy
            await conn.execute(
                "INSERT INTO rm_swift_containers (project_id, name, created_at, updated_at)"
                " VALUES ('p', 'new', now(), now())"
            )
    finally:
        await conn.close()
