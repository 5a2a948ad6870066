"""KUMO_WORKERS: `kumo up` serves with more processes on one port (service/http_workers.py).
The workers here are real `python -m service http-worker` processes on a real database."""

import asyncio
import contextlib
import io
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import psutil
import pytest
from aiohttp.test_utils import TestServer

from events.postgres import PostgresEventStore
from service import http_workers
from service.app import create_app
from service.compute.libvirt import LibvirtDriver
from service.compute.worker import COMPUTE_HOST
from service.config import Settings
from service.server import HTTP_WORKER_APP
from tests.conftest import log_lines
from tests.integration.compute.hypervisor_helpers import new_spec
from tests.integration.service.serving import LIMIT, served


@contextlib.asynccontextmanager
async def primary(database_url: str, data_dir: Path, workers: int) -> AsyncIterator[str]:
    """serve() with `workers` as this process; yields its URL once it is ready, which is
    once its workers listen too."""
    settings = Settings(
        listen="127.0.0.1:0", data_dir=data_dir, workers=workers, log_level="WARNING"
    )
    async with served(settings, database_url, create_app) as (url, _):
        assert len(listening(port_of(url))) == workers
        yield url


def port_of(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None
    return port


def workers() -> list[psutil.Process]:
    return [p for p in psutil.Process().children() if "http-worker" in " ".join(p.cmdline())]


def listening(port: int) -> set[int]:
    """The pids of this process and its workers that listen on `port`."""
    return holding(port, psutil.CONN_LISTEN, [psutil.Process(), *workers()])


def serving(port: int) -> set[int]:
    """The pids of this process's workers holding an established connection on `port`."""
    return holding(port, psutil.CONN_ESTABLISHED, workers())


def holding(port: int, status: str, processes: list[psutil.Process]) -> set[int]:
    """The pids of `processes` with a TCP socket on local `port` in `status`."""
    pids = set()
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            sockets = process.net_connections(kind="tcp")
            if any(s.status == status and s.laddr.port == port for s in sockets):
                pids.add(process.pid)
    return pids


async def test_workers_share_the_port_and_answer_requests(
    database_url: str, tmp_path: Path
) -> None:
    async with primary(database_url, tmp_path, workers=3) as url:
        assert len(workers()) == 2
        sessions = [aiohttp.ClientSession() for _ in range(40)]
        try:
            for session in sessions:  # one connection each, kept open
                async with session.get(f"{url}/identity/v3") as response:
                    assert response.status == 200
                    assert (await response.json())["version"]["id"] == "v3.14"
            # The kernel spread the 40 connections: both workers hold some of them.
            assert len(serving(port_of(url))) == 2
        finally:
            await asyncio.gather(*(s.close() for s in sessions))


async def test_a_worker_that_exits_is_started_again(database_url: str, tmp_path: Path) -> None:
    async with primary(database_url, tmp_path, workers=2) as url:
        (first,) = workers()
        first.kill()
        first.wait(timeout=10)
        async with asyncio.timeout(LIMIT):
            while len(listening(port_of(url))) < 2:
                await asyncio.sleep(0.1)
        (second,) = workers()
        assert second.pid != first.pid


async def test_workers_stop_with_the_primary(database_url: str, tmp_path: Path) -> None:
    async with primary(database_url, tmp_path, workers=3):
        started = workers()
        assert len(started) == 2
    # serve() returned after its workers had exited (they were waited for, so gone).
    assert not [p for p in started if p.is_running()]


async def test_workers_that_do_not_start_stop_the_primary(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, log_stream: io.StringIO
) -> None:
    monkeypatch.setattr(http_workers, "WORKER_COMMAND", (sys.executable, "-c", "exit(3)"))
    monkeypatch.setattr(http_workers, "READY_TIMEOUT", 2.5)
    with pytest.raises(RuntimeError, match=r"did not start within 2\.5 s"):
        async with primary(database_url, tmp_path, workers=2):
            pass
    exits = [line for line in log_lines(log_stream) if line["logger"] == "kumo.workers"]
    assert {"http worker exited; starting it again"} <= {line["message"] for line in exits}
    assert {line.get("exit_code") for line in exits} >= {3}
    assert not workers()


async def test_a_worker_reads_console_logs_through_its_own_connection(
    store: PostgresEventStore, tmp_path: Path
) -> None:
    """The compute host runs in the primary; a worker still answers os-getConsoleOutput."""
    settings = Settings(data_dir=tmp_path, libvirt_uri="test:///default")
    app = HTTP_WORKER_APP(settings, store)
    async with TestServer(app):
        hypervisor = app[COMPUTE_HOST].hypervisor
        assert isinstance(hypervisor, LibvirtDriver) and hypervisor.uri == "test:///default"
        spec = new_spec(str(tmp_path / "console.log"))
        await hypervisor.spawn(spec)
        await asyncio.to_thread(Path(spec.serial_log).write_text, "login:\n")
        assert await hypervisor.console_output(spec.uuid) == "login:\n"
        await hypervisor.destroy(spec.uuid)
    assert app[COMPUTE_HOST].hypervisor is None


def test_a_worker_stops_when_its_primary_is_gone() -> None:
    """The worker's stdin is the primary's pipe: its end is the primary's end."""
    watcher = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import asyncio; from service.http_workers import primary_gone;"
            " asyncio.run(primary_gone()); print('gone')",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert watcher.stdin is not None and watcher.stdout is not None
    with pytest.raises(subprocess.TimeoutExpired):
        watcher.wait(timeout=1)
    watcher.stdin.close()
    assert watcher.wait(timeout=20) == 0
    with watcher.stdout:
        assert watcher.stdout.read() == b"gone\n"
