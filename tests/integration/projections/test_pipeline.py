"""Pipelined: held statements reach the server in order, before anything else is asked."""

import asyncpg
import pytest

from events.postgres import PostgresEventStore
from projections.pipeline import Pipelined

UPSERT = (
    "INSERT INTO counts (k, n) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET n = counts.n * 10 + $2"
)


async def test_runs_of_one_statement_go_together_and_order_holds(store: PostgresEventStore) -> None:
    async with store.pool.acquire() as conn, conn.transaction():
        await conn.execute("CREATE TABLE counts (k text PRIMARY KEY, n bigint NOT NULL)")
        writer = Pipelined(conn, limit=3)
        for n in range(1, 6):
            assert await writer.execute(UPSERT, "a", n) == ""
        await writer.execute("UPDATE counts SET n = -n WHERE k = $1", "a")
        await writer.execute(UPSERT, "a", 7)
        assert await writer.fetchval("SELECT n FROM counts WHERE k = 'a'") == -12345 * 10 + 7
        await writer.execute(UPSERT, "b", 1)
        assert await writer.execute("SELECT 1") == "SELECT 1"
        assert await conn.fetchval("SELECT n FROM counts WHERE k = 'b'") == 1


async def test_a_held_statement_fails_when_it_is_sent(store: PostgresEventStore) -> None:
    async with store.pool.acquire() as conn:
        await conn.execute("CREATE TABLE counts (k text PRIMARY KEY, n bigint NOT NULL)")
        writer = Pipelined(conn)
        with pytest.raises(asyncpg.NotNullViolationError):
            async with conn.transaction():
                await writer.execute(UPSERT, "a", 1)
                await writer.execute(UPSERT, "b", None)
                await writer.flush()
        assert await conn.fetchval("SELECT count(*) FROM counts") == 0
