"""`/healthz` reports the database, and says what is wrong when it is unreachable."""

from urllib.parse import urlsplit

import asyncpg
from aiohttp import web
from aiohttp.test_utils import TestClient

from events.postgres import Pool

Client = TestClient[web.Request, web.Application]


async def test_ok(client: Client) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"status": "ok", "database": "ok"}


async def test_503_when_the_pool_is_closed(client: Client, pool: Pool) -> None:
    await pool.close()
    response = await client.get("/healthz")
    assert response.status == 503
    body = await response.json()
    assert body["status"] == "unavailable"
    assert "pool" in body["database"]


async def test_503_when_the_database_is_gone(
    client: Client, server_url: str, database_url: str
) -> None:
    name = urlsplit(database_url).path.lstrip("/")
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f"DROP DATABASE {name} WITH (FORCE)")
    finally:
        await conn.close()
    response = await client.get("/healthz")
    assert response.status == 503
    body = await response.json()
    assert body["status"] == "unavailable"
    # Either the terminated connection's error or, on reconnecting, the missing database.
    assert "does not exist" in body["database"] or "connection" in body["database"], body


async def test_healthz_under_an_api_prefix_is_not_found(client: Client) -> None:
    assert (await client.get("/compute/healthz")).status == 404
