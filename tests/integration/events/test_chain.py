"""Tamper evidence: each event's hash chains over its stream's previous event; the chain
is recomputed apart from the database, and edits made behind the append-only guard show."""

import asyncio
import io
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from events.chain import GENESIS, ChainReport, event_hash, verify_chain
from events.postgres import PostgresEventStore, create_pool
from events.store import StreamAppend
from service.migrator import MIGRATIONS_DIR, migrate
from tests.cli_runner import run_cli_async
from tests.conftest import _on_server, with_database
from tests.sample_events import Noted, Renamed


@pytest.fixture
async def superuser(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection whose triggers are off: it can change the log behind the guard."""
    conn = await asyncpg.connect(database_url)
    assert await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    await conn.execute("SET session_replication_role = replica")
    yield conn
    await conn.close()


async def some_history(store: PostgresEventStore) -> None:
    """Three streams written one, several and many at a time, and concurrently."""
    await store.append("note-a", [Noted(n=1), Noted(n=2, text="ünïcode ✓"), Renamed(name="a")])
    await store.append_streams(
        [
            StreamAppend("note-b", [Noted(n=3), Renamed(name='quote " and \\ and \n')]),
            StreamAppend("note-a", [Noted(n=4)]),
        ]
    )
    await asyncio.gather(*(store.append("note-c", [Noted(n=i)]) for i in range(20)))
    await store.append("note-b", [Noted(n=5)])


async def check(store: PostgresEventStore) -> ChainReport:
    async with store.pool.acquire() as conn:
        return await verify_chain(conn)


async def test_every_append_chains_its_events_and_the_chain_verifies(
    store: PostgresEventStore,
) -> None:
    await some_history(store)
    report = await check(store)
    assert report == ChainReport(events=27, streams=3, broken=0, first_breaks=())

    first = await store.pool.fetchrow(
        "SELECT *, metadata::text AS m, data::text AS d FROM events"
        " WHERE stream_id = 'note-a' AND version = 1"
    )
    assert first is not None
    assert first["hash"] == event_hash(
        GENESIS, first["position"], "note-a", 1, first["event_id"], "Noted", 1,
        first["recorded_at"], first["m"], first["d"],
    )  # fmt: skip


async def test_an_edited_data_field_is_named(
    store: PostgresEventStore, superuser: asyncpg.Connection
) -> None:
    await some_history(store)
    position = await superuser.fetchval(
        "UPDATE events SET data = jsonb_set(data, '{n}', '400')"
        " WHERE stream_id = 'note-c' AND version = 7 RETURNING position"
    )
    report = await check(store)
    assert report.broken == 1
    (first,) = report.first_breaks
    assert (first.position, first.stream_id, first.version) == (position, "note-c", 7)
    assert first.reason == "altered"


async def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(
    store: PostgresEventStore, superuser: asyncpg.Connection
) -> None:
    await some_history(store)
    await superuser.execute(
        "UPDATE events SET data = jsonb_set(data, '{n}', '400'),"
        " hash = event_hash(decode(repeat('00', 32), 'hex'), position, stream_id, version,"
        " event_id, type, schema_version, recorded_at, metadata, jsonb_set(data, '{n}', '400'))"
        " WHERE stream_id = 'note-a' AND version = 1"
    )
    report = await check(store)
    assert [(b.stream_id, b.version, b.reason) for b in report.first_breaks] == [
        ("note-a", 2, "altered")
    ]


async def test_an_event_deleted_in_the_middle_of_a_stream_is_named(
    store: PostgresEventStore, superuser: asyncpg.Connection
) -> None:
    await some_history(store)
    await superuser.execute("DELETE FROM events WHERE stream_id = 'note-a' AND version = 2")
    after = await store.pool.fetchval(
        "SELECT position FROM events WHERE stream_id = 'note-a' AND version = 3"
    )
    report = await check(store)
    assert report.events == 26 and report.broken == 1
    (first,) = report.first_breaks
    assert (first.position, first.stream_id, first.version) == (after, "note-a", 3)
    assert first.describe() == (
        f"event at position {after} (stream note-a, version 3):"
        " version 2 is missing from the stream before it"
    )


async def test_the_first_break_by_position_comes_first_and_all_are_counted(
    store: PostgresEventStore, superuser: asyncpg.Connection
) -> None:
    await some_history(store)
    await superuser.execute("UPDATE events SET metadata = '{\"forged\": true}' WHERE position > 24")
    await superuser.execute("UPDATE events SET type = 'Forged' WHERE position = 10")
    report = await check(store)
    assert report.broken == 4
    assert [b.position for b in report.first_breaks] == [10, 25, 26, 27]


async def test_kumo_verify_chain_reports_intact_then_names_the_tampered_event(
    store: PostgresEventStore,
    superuser: asyncpg.Connection,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    log_stream: io.StringIO,
) -> None:
    monkeypatch.setenv("KUMO_DATABASE_URL", database_url)
    await some_history(store)
    assert await run_cli_async("verify", "--chain") == (0, "27 events, chain intact (3 streams)\n")

    position = await superuser.fetchval(
        "UPDATE events SET data = jsonb_set(data, '{n}', '99')"
        " WHERE stream_id = 'note-b' AND version = 1 RETURNING position"
    )
    code, output = await run_cli_async("verify", "--chain")
    assert code == 1
    assert output.splitlines() == [
        "The hash chain is broken. First event that does not match: event at position"
        f" {position} (stream note-b, version 1): its content or hash was changed after"
        " it was written",
        "1 of 27 events do not match.",
    ]


async def test_migration_0007_hashes_the_events_already_logged(
    server_url: str, tmp_path: Path
) -> None:
    """A log written before the chain existed gets valid hashes when 0007 is applied."""
    earlier = tmp_path / "migrations"
    earlier.mkdir()
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        if path.name < "0007":
            shutil.copy(path, earlier)
    name = f"kumo_chain_{tmp_path.name[-12:].lower().replace('-', '_')}"
    await _on_server(server_url, f"CREATE DATABASE {name}")
    url = with_database(server_url, name)
    try:
        await migrate(url, earlier)
        pool = await create_pool(url, min_size=1, max_size=4)
        try:
            await some_history(PostgresEventStore(pool))
            assert await migrate(url) == [
                p.name for p in sorted(MIGRATIONS_DIR.glob("*.sql")) if p.name >= "0007"
            ]
            report = await check(PostgresEventStore(pool))
            assert (report.events, report.broken) == (27, 0)
            with pytest.raises(asyncpg.PostgresError) as refused:  # the guard is back on
                await pool.execute("UPDATE events SET type = 'Forged'")
            assert refused.value.sqlstate == "KU002"
            await PostgresEventStore(pool).append("note-a", [Noted(n=6)])
            assert (await check(PostgresEventStore(pool))).broken == 0
        finally:
            await pool.close()
    finally:
        await _on_server(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
