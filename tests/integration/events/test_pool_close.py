"""A pool closes within its time limit even while a connection is never given back."""

import asyncio
import io

from events.postgres import close_pool, create_pool
from tests.conftest import log_lines


async def test_a_pool_closes_gracefully_when_its_connections_are_back(database_url: str) -> None:
    pool = await create_pool(database_url, min_size=1, max_size=2)
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT 1") == 1
    await close_pool(pool, grace=5)
    assert pool.is_closing()


async def test_a_connection_held_for_ever_does_not_hang_the_close(
    database_url: str, log_stream: io.StringIO
) -> None:
    pool = await create_pool(database_url, min_size=1, max_size=2)
    held = asyncio.Event()

    async def hold_for_ever() -> None:
        async with pool.acquire():
            held.set()
            await asyncio.Event().wait()

    holder = asyncio.create_task(hold_for_ever())
    await held.wait()
    try:
        async with asyncio.timeout(5):  # asyncpg's own close would wait for ever
            await close_pool(pool, grace=0.2)
        assert pool.is_closing()
        warnings = [line for line in log_lines(log_stream) if line.get("held_at_close") == 1]
        assert warnings and "terminated" in str(warnings[0]["message"]), log_lines(log_stream)
    finally:
        holder.cancel()
        await asyncio.gather(holder, return_exceptions=True)
