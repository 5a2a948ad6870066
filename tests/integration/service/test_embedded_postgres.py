"""The embedded cluster's URL: through its Unix socket, or over loopback TCP when the
socket's path would be too long for one."""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import msgspec
import pytest

from service.embedded_postgres import ClusterInfo, EmbeddedPostgres


@pytest.fixture
def unstarted(tmp_path: Path) -> Iterator[EmbeddedPostgres]:
    """A cluster whose folder has a name too long to hold a Unix socket; not started."""
    cluster = EmbeddedPostgres(tmp_path / ("x" * 100), port=54998)
    cluster.root.mkdir(parents=True, exist_ok=True)  # may be under /var/lib/kumo as root
    info = ClusterInfo(port=54999, user="kumo", password="secret")
    cluster.info_file.write_bytes(msgspec.json.encode(info))
    yield cluster
    shutil.rmtree(cluster.root)


@pytest.mark.skipif(
    bool(os.environ.get("KUMO_TEST_DATABASE_URL")), reason="the tests use a server of their own"
)
async def test_the_url_goes_through_the_clusters_unix_socket(server_url: str) -> None:
    assert "@/postgres?host=/" in server_url
    conn = await asyncpg.connect(server_url)
    try:
        assert await conn.fetchval("SELECT inet_server_addr()") is None  # not a TCP client
    finally:
        await conn.close()


def test_a_socket_path_too_long_gives_a_loopback_url(unstarted: EmbeddedPostgres) -> None:
    assert unstarted.url("db") == "postgresql://kumo:secret@127.0.0.1:54999/db"
