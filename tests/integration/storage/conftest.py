"""Fixtures: a moto S3 server for the session (a subprocess on a free loopback port,
started only if an S3 test runs), and a fresh backend of each kind per test."""

import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from service.storage import ObjectBackend
from service.storage.localfs import LocalFsBackend
from service.storage.s3 import MiB, S3Backend, S3Settings

PART_SIZE = 5 * MiB  # the smallest S3 allows, so a 6 MiB object is a two-part upload


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_answers(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto server exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except urllib.error.HTTPError:
            return  # it answered, if only with an error
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"moto server at {url} did not answer within {timeout} s")


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """The URL of a moto server that lives as long as the test session."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answers(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def s3_settings(endpoint_url: str, **overrides: Any) -> S3Settings:
    """Settings for a new bucket of its own on `endpoint_url`, with small multipart parts."""
    settings: dict[str, Any] = {
        "bucket": f"kumo-test-{secrets.token_hex(6)}",
        "endpoint_url": endpoint_url,
        "access_key_id": "testing",
        "secret_access_key": "testing",
        "create_bucket": True,
        "multipart_threshold": PART_SIZE,
        "part_size": PART_SIZE,
        "connect_timeout": 1.0,
        "max_attempts": 1,
    }
    return S3Settings(**(settings | overrides))


@pytest.fixture(params=["localfs", "s3"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ObjectBackend]:
    """A started, empty backend; every contract test runs once with each kind."""
    backend: ObjectBackend
    if request.param == "localfs":
        backend = LocalFsBackend(tmp_path / "objects")
    else:
        backend = S3Backend(s3_settings(request.getfixturevalue("moto_url")))
    async with backend:
        yield backend
