"""Fixtures: one real Postgres for the run, a fresh database per test cloned from a
migrated template (procrastinate's way), and an event store on it.

KUMO_TEST_DATABASE_URL points the tests at an existing server (its user must be
allowed to create databases); otherwise an embedded cluster is started under
.kumo/test-postgres (or KUMO_TEST_POSTGRES_DIR) on port 54329 (or KUMO_TEST_POSTGRES_PORT),
without fsync, and left running for the next run.
"""

import asyncio
import contextlib
import io
import logging
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import msgspec
import pytest

from events.postgres import PostgresEventStore, close_pool, create_pool
from service.embedded_postgres import EmbeddedPostgres
from service.logs import configure_logging
from service.migrator import migrate
from service.read_models import kumo_store

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = f"kumo_test_template_{os.getpid()}"
"""Per test run, so that two runs on one server do not drop each other's template."""


def with_database(url: str, database: str) -> str:
    """The same server URL naming another database."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A URL of the test server's maintenance database (`postgres`)."""
    given = os.environ.get("KUMO_TEST_DATABASE_URL")
    if given:
        yield with_database(given, "postgres")
        return
    folder = os.environ.get("KUMO_TEST_POSTGRES_DIR", str(ROOT / ".kumo" / "test-postgres"))
    port = int(os.environ.get("KUMO_TEST_POSTGRES_PORT", "54329"))
    cluster = EmbeddedPostgres(Path(folder), port=port, durable=False)
    yield cluster.start("postgres")


@pytest.fixture(scope="session")
def template_url(server_url: str) -> Iterator[str]:
    """A database with every migration applied, cloned for each test; dropped at the end."""
    asyncio.run(_on_server(server_url, f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)"))
    asyncio.run(_on_server(server_url, f"CREATE DATABASE {TEMPLATE}"))
    asyncio.run(migrate(with_database(server_url, TEMPLATE)))
    yield with_database(server_url, TEMPLATE)
    asyncio.run(_on_server(server_url, f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)"))


async def _on_server(server_url: str, statement: str) -> None:
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def fresh_database(server_url: str) -> AsyncIterator[str]:
    """A migrated database cloned from the template, dropped on the way out."""
    name = f"kumo_test_{uuid.uuid4().hex[:12]}"
    await _on_server(server_url, f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
    try:
        yield with_database(server_url, name)
    finally:
        await _on_server(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
async def database_url(server_url: str, template_url: str) -> AsyncIterator[str]:
    """A database of this test's own, migrated, dropped afterwards."""
    async with fresh_database(server_url) as url:
        yield url


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, min_size=1, max_size=20)
    yield pool
    await close_pool(pool)


@pytest.fixture
async def store(pool: asyncpg.Pool) -> PostgresEventStore:
    """Kumo's store: every inline read model is applied with each append."""
    return kumo_store(pool)


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """Kumo's JSON logs, captured; the root logger is restored afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = io.StringIO()
    configure_logging("INFO", stream)
    yield stream
    root.handlers[:] = handlers
    root.setLevel(level)


def log_lines(stream: io.StringIO) -> list[dict[str, object]]:
    """The captured log lines, decoded."""
    return [msgspec.json.decode(line) for line in stream.getvalue().splitlines()]
