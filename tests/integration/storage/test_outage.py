"""A store that is down or unusable: every operation fails fast with BackendUnavailable,
which the API renders as 503 with the message."""

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from service.errors import ServiceUnavailable
from service.storage import BackendUnavailable, ObjectBackend
from service.storage.localfs import LocalFsBackend
from service.storage.s3 import S3Backend

from .conftest import free_port, s3_settings
from .helpers import chunks, read_all


@pytest.fixture(params=["localfs", "s3"])
async def down(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ObjectBackend]:
    """A started backend whose store then fails: a folder turned into a file, or no server."""
    backend: ObjectBackend
    if request.param == "localfs":
        backend = LocalFsBackend(tmp_path / "objects")
        async with backend:
            backend.root.rmdir()
            backend.root.write_bytes(b"not a folder")
            yield backend
    else:
        closed = f"http://127.0.0.1:{free_port()}"
        async with S3Backend(s3_settings(closed, create_bucket=False)) as backend:
            yield backend


async def listed(backend: ObjectBackend) -> list[str]:
    return [key async for key in backend.list("images/")]


OPERATIONS: dict[str, Callable[[ObjectBackend], Awaitable[Any]]] = {
    "put": lambda backend: backend.put("images/k", chunks(b"data")),
    "get": lambda backend: backend.get("images/k"),
    "ranged get": lambda backend: backend.get("k", byte_range=(0, 1)),
    "head": lambda backend: backend.head("images/k"),
    "delete": lambda backend: backend.delete("images/k"),
    "list": listed,
    "copy": lambda backend: backend.copy("images/k", "images/other"),
}


@pytest.mark.parametrize("operation", OPERATIONS)
async def test_every_operation_fails_fast(down: ObjectBackend, operation: str) -> None:
    began = time.monotonic()
    with pytest.raises(BackendUnavailable) as raised:
        await OPERATIONS[operation](down)
    assert time.monotonic() - began < 3
    assert isinstance(raised.value, ServiceUnavailable) and raised.value.code == 503
    where = down.root if isinstance(down, LocalFsBackend) else "object store at http://127.0.0.1"
    assert str(where) in raised.value.message


async def test_localfs_start_on_an_unusable_folder(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"")
    with pytest.raises(BackendUnavailable, match=r"local object store at .* is unusable"):
        await LocalFsBackend(blocker / "objects").start()


async def test_s3_start_that_must_create_the_bucket_on_an_unreachable_store() -> None:
    backend = S3Backend(s3_settings(f"http://127.0.0.1:{free_port()}"))
    unreachable = r"object store at http://127\.0\.0\.1:\d+ is unreachable"
    with pytest.raises(BackendUnavailable, match=unreachable):
        await backend.start()


async def test_s3_missing_bucket_is_an_outage(moto_url: str) -> None:
    async with S3Backend(s3_settings(moto_url, create_bucket=False)) as backend:
        with pytest.raises(BackendUnavailable, match="NoSuchBucket"):
            await read_all(await backend.get("k"))
