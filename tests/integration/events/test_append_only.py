"""Invariant: the events table refuses UPDATE, DELETE and TRUNCATE at the database level."""

from urllib.parse import urlsplit

import asyncpg
import pytest

from events.postgres import PostgresEventStore
from tests.sample_events import Noted

CHANGES = [
    "UPDATE events SET type = 'Forged'",
    "UPDATE events SET type = 'Forged' WHERE false",
    "DELETE FROM events",
    "TRUNCATE events",
]


@pytest.mark.parametrize("statement", CHANGES)
async def test_owner_cannot_change_the_log(store: PostgresEventStore, statement: str) -> None:
    await store.append("note-1", [Noted(n=1)])
    with pytest.raises(asyncpg.PostgresError) as refused:
        await store.pool.execute(statement)
    assert refused.value.sqlstate == "KU002"
    assert await store.pool.fetchval("SELECT count(*) FROM events WHERE type = 'Noted'") == 1


@pytest.mark.parametrize("statement", CHANGES)
async def test_app_role_cannot_change_the_log_even_when_granted(
    store: PostgresEventStore, database_url: str, statement: str
) -> None:
    await store.append("note-1", [Noted(n=1)])
    role = "kumo_app_" + urlsplit(database_url).path.rsplit("_", 1)[-1]
    await store.pool.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'app' NOSUPERUSER")
    await store.pool.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON events TO {role}")
    app_url = database_url.replace(database_url.split("@")[0].split("//")[1], f"{role}:app")
    conn = await asyncpg.connect(app_url)
    try:
        assert (
            await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            is False
        )
        with pytest.raises(asyncpg.PostgresError):
            await conn.execute(statement)
        assert await conn.fetchval("SELECT count(*) FROM events") == 1
    finally:
        await conn.close()
        await store.pool.execute(f"REVOKE ALL ON events FROM {role}")
        await store.pool.execute(f"DROP ROLE {role}")


async def test_public_has_no_update_or_delete_privilege(store: PostgresEventStore) -> None:
    for privilege in ("UPDATE", "DELETE", "TRUNCATE"):
        granted = await store.pool.fetchval(
            "SELECT has_table_privilege('public', 'events', $1)", privilege
        )
        assert granted is False, privilege
