"""`GET /healthz`: is Kumo up and can it reach its database."""

import asyncio

import asyncpg
import msgspec
from aiohttp import web

from service.http.body import json_response
from service.http.keys import STORE

CHECK_TIMEOUT = 5.0


class Health(msgspec.Struct, frozen=True):
    status: str
    database: str


async def database_problem(request: web.Request) -> str | None:
    """None when `SELECT 1` runs within CHECK_TIMEOUT, else what went wrong."""
    pool = request.config_dict[STORE].pool
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            await pool.fetchval("SELECT 1")
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as error:
        return str(error) or type(error).__name__
    return None


async def healthz(request: web.Request) -> web.Response:
    """200 `{"status": "ok", "database": "ok"}` when the database answers; 503 with the
    database error's message otherwise. Needs no token."""
    problem = await database_problem(request)
    if problem is not None:
        return json_response(Health("unavailable", problem), status=503)
    return json_response(Health("ok", "ok"))
