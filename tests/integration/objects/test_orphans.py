"""The orphan reaper: blobs no object version references go once older than the grace
period; referenced blobs and fresh (possibly in-flight) ones stay. On both backends."""

import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from events.postgres import PostgresEventStore
from service.objects import orphan
from service.objects.naming import blob_key
from service.objects.policy import STORAGE_POLICIES
from service.storage.backend import ObjectBackend
from service.storage.configured import OBJECTS
from tests.integration.objects.conftest import Client, ShiftedClock, Swift


@pytest.fixture(params=["local", "s3"])
def object_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def fast_sweeps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sweeps every 50 ms; requested before `client`, so the app starts with it."""
    monkeypatch.setattr(orphan, "INTERVAL", 0.05)


async def _bytes() -> AsyncIterator[bytes]:
    yield b"lost bytes"


async def _stored_version(swift: Swift, store: PostgresEventStore, name: str) -> str:
    row = await store.pool.fetchrow(
        "SELECT version_id FROM rm_swift_objects WHERE project_id = $1 AND name = $2",
        swift.project_id,
        name,
    )
    return str(row["version_id"])


async def _orphan(backend: ObjectBackend, swift: Swift, name: str) -> str:
    """Bytes stored as a crash between the blob and its event would leave them."""
    key = blob_key(swift.project_id, "c", name, secrets.token_hex(16))
    await backend.put(key, _bytes())
    return key


async def test_only_old_unreferenced_blobs_are_reaped(
    client: Client, swift: Swift, store: PostgresEventStore
) -> None:
    backend = client.app[OBJECTS]
    assert (await swift.call("PUT", "c")).status == 201
    assert (await swift.call("PUT", "c/kept/a", body=b"v1")).status == 201
    assert (await swift.call("PUT", "c/kept/a", body=b"v2")).status == 201
    kept = blob_key(swift.project_id, "c", "kept/a", await _stored_version(swift, store, "kept/a"))
    lost = [await _orphan(backend, swift, "kept/a"), await _orphan(backend, swift, "never")]
    await backend.put("images/not-ours", _bytes())
    now = datetime.now(UTC)
    policies = client.app[STORAGE_POLICIES]
    assert await orphan.reap_orphans(store.pool, policies, now, orphan.GRACE) == 0
    later = now + 2 * orphan.GRACE
    assert await orphan.reap_orphans(store.pool, policies, later, orphan.GRACE) == 2
    assert [k async for k in backend.list("objects/")] == [kept]
    assert [await backend.head(key) for key in lost] == [None, None]
    assert await backend.head("images/not-ours") is not None
    response = await swift.call("GET", "c/kept/a")
    assert (response.status, await response.read()) == (200, b"v2")


async def test_the_background_sweep_reaps_an_orphan(
    fast_sweeps: None, client: Client, swift: Swift, clock: ShiftedClock
) -> None:
    backend = client.app[OBJECTS]
    assert (await swift.call("PUT", "c")).status == 201
    key = await _orphan(backend, swift, "crashed")
    await asyncio.sleep(0.2)
    assert await backend.head(key) is not None  # younger than the grace period
    clock.shift = 2 * orphan.GRACE
    deadline = time.monotonic() + 10
    while await backend.head(key) is not None:
        assert time.monotonic() < deadline, "the orphan was not reaped"
        await asyncio.sleep(0.05)
