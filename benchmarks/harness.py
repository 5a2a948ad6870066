"""What every benchmark shares: progress lines, percentiles, and a database to measure on."""

import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import msgspec

from events.clock import RandomIds
from service.embedded_postgres import EmbeddedPostgres, free_port
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


async def on_server(server: str, statement: str) -> None:
    conn = await asyncpg.connect(server)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@asynccontextmanager
async def fresh_database(server: str) -> AsyncIterator[str]:
    """A new, migrated database on `server`; dropped on the way out."""
    name = f"kumo_bench_{IDS.new_id().hex[:12]}"
    await on_server(server, f"CREATE DATABASE {name}")
    url = with_database(server, name)
    try:
        await migrate(url)
        yield url
    finally:
        await on_server(server, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


KUMO_UP = ("-m", "service", "up")


def start_kumo(
    database_url: str, data_dir: str, command: Sequence[str] = KUMO_UP, **env: str
) -> tuple[subprocess.Popen[bytes], str]:
    """`kumo up` (or another `command` of this interpreter serving as it does) on a free
    port with extra KUMO_* settings; waits for /healthz.
    Its log is data_dir/kumo.log; RuntimeError with its tail if it does not start."""
    port = free_port()
    settings = {
        **os.environ,
        "KUMO_DATABASE_URL": database_url,
        "KUMO_LISTEN": f"127.0.0.1:{port}",
        "KUMO_DATA_DIR": data_dir,
        "OS_CLIENT_CONFIG_FILE": str(Path(data_dir) / "clouds.yaml"),
        "KUMO_LIBVIRT_URI": "test:///default",
        **env,
    }
    log = Path(data_dir) / "kumo.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, *command],
            cwd=ROOT,
            env=settings,
            stdout=subprocess.DEVNULL,
            stderr=out,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=1).read()
            return process, url
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"kumo up did not start:\n{log.read_text()[-2000:]}") from None
            time.sleep(0.2)


class Kumo(msgspec.Struct, frozen=True):
    """A `kumo up` started for a benchmark."""

    url: str
    database_url: str
    data_dir: Path
    pid: int


@asynccontextmanager
async def running_kumo(command: Sequence[str] = KUMO_UP, **env: str) -> AsyncIterator[Kumo]:
    """`kumo up` (or `command`) with the given KUMO_* settings on a fresh database and data
    folder (the embedded bench cluster unless KUMO_BENCH_DATABASE_URL); everything goes
    afterwards."""
    server, cluster = server_url()
    try:
        async with fresh_database(server) as database_url:
            with tempfile.TemporaryDirectory() as data_dir:
                process, url = start_kumo(database_url, data_dir, command, **env)
                try:
                    yield Kumo(url, database_url, Path(data_dir), process.pid)
                finally:
                    process.terminate()
                    process.wait(timeout=30)
    finally:
        if cluster is not None:
            cluster.stop()
