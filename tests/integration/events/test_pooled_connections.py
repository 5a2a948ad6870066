"""Pooled connections go back without asyncpg's reset round trip, yet never carry the
session state Kumo leaves behind (the ordering lock of a failed append, a LISTEN)."""

from collections.abc import AsyncIterator

import asyncpg
import pytest

from events.postgres import (
    NOTIFY_CHANNEL,
    Pool,
    PostgresEventStore,
    create_pool,
    dedicated_connection,
)
from tests.sample_events import Noted

REFUSE_STREAM = """
CREATE FUNCTION refuse_note_refused() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.stream_id = 'note-refused' THEN
        RAISE EXCEPTION 'refused by the test';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER refuse_note_refused BEFORE INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION refuse_note_refused();
"""
"""Makes an append fail inside append_events."""


@pytest.fixture
async def one_connection(database_url: str) -> AsyncIterator[Pool]:
    pool = await create_pool(database_url, min_size=1, max_size=1)
    yield pool
    await pool.close()


async def test_a_connection_whose_append_failed_goes_back_fully_reset(
    one_connection: Pool,
) -> None:
    """An append that did not complete may hold the ordering lock (a cancel inside its
    short window): its connection gets asyncpg's full reset, which releases the lock."""
    await one_connection.execute(REFUSE_STREAM)
    await one_connection.execute("SET application_name = 'stale'")
    with pytest.raises(asyncpg.RaiseError, match="refused by the test"):
        await PostgresEventStore(one_connection).append("note-refused", [Noted(n=1)])
    assert await one_connection.fetchval("SHOW application_name") != "stale"


async def test_a_connection_held_for_listen_goes_back_without_its_listen(
    one_connection: Pool,
) -> None:
    async with dedicated_connection(PostgresEventStore(one_connection), None) as conn:
        await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
        assert await conn.fetchval("SELECT count(*) FROM pg_listening_channels()") == 1
    assert await one_connection.fetchval("SELECT count(*) FROM pg_listening_channels()") == 0


async def test_an_ordinary_connection_goes_back_without_a_reset(one_connection: Pool) -> None:
    """What a plain statement set survives its release: no reset ran (Kumo sets nothing
    per session outside the two cases above)."""
    await one_connection.execute("SET application_name = 'kept'")
    assert await one_connection.fetchval("SHOW application_name") == "kept"
