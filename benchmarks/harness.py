"""What every benchmark shares: progress lines, percentiles, and a database to measure on."""

import os
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from events.clock import RandomIds
from service.embedded_postgres import EmbeddedPostgres
from service.migrator import migrate

ROOT = Path(__file__).resolve().parent.parent
BENCH_PORT = 54330
IDS = RandomIds()


def progress(message: str) -> None:
    """A line of progress on stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) of values, nearest rank; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def with_database(url: str, database: str) -> str:
    """The same server URL naming another database."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


def server_url() -> tuple[str, EmbeddedPostgres | None]:
    """The server to measure (KUMO_BENCH_DATABASE_URL, or an embedded cluster with fsync
    on), and the embedded cluster to stop afterwards if it was started here."""
    given = os.environ.get("KUMO_BENCH_DATABASE_URL")
    if given:
        return with_database(given, "postgres"), None
    cluster = EmbeddedPostgres(ROOT / ".kumo" / "bench-postgres", port=BENCH_PORT, durable=True)
    was_running = cluster.running()
    progress(f"embedded cluster (fsync on) under {cluster.root}")
    url = cluster.start("postgres")
    return url, None if was_running else cluster


async def _on_server(server: str, statement: str) -> None:
    conn = await asyncpg.connect(server)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@asynccontextmanager
async def fresh_database(server: str) -> AsyncIterator[str]:
    """A new, migrated database on `server`; dropped on the way out."""
    name = f"kumo_bench_{IDS.new_id().hex[:12]}"
    await _on_server(server, f"CREATE DATABASE {name}")
    url = with_database(server, name)
    try:
        await migrate(url)
        yield url
    finally:
        await _on_server(server, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
