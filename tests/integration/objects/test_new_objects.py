"""A small PUT by the account's owner is stored before its container is read
(service/objects/api/writes.py `put_new`): a name never used is appended on condition
that its stream does not exist; any other name takes the usual way with the bytes
already stored. Nothing is kept when the PUT fails, the replaced bytes go, quotas hold
exactly, other callers are checked before their bytes are read."""

import asyncio

import pytest

from events.postgres import PostgresEventStore
from service.http.keys import STORE
from service.objects import known
from service.objects.naming import object_stream
from service.storage.configured import OBJECTS
from tests.integration.objects.conftest import Client, Swift


async def _blobs(client: Client, swift: Swift) -> list[str]:
    return [k async for k in client.app[OBJECTS].list(f"objects/{swift.project_id}/")]


async def _current_keys(swift: Swift, store: PostgresEventStore) -> list[str]:
    rows = await store.pool.fetch(
        "SELECT container, name, version_id FROM rm_swift_objects WHERE project_id = $1",
        swift.project_id,
    )
    return sorted(f"{r['container']}/{r['name']}/{r['version_id']}" for r in rows)


async def test_a_missing_container_is_404_and_keeps_nothing(client: Client, swift: Swift) -> None:
    response = await swift.call("PUT", "nowhere/a", body=b"bytes")
    assert response.status == 404
    assert await _blobs(client, swift) == []


async def test_overwrites_replace_the_bytes_and_the_counts(
    client: Client, swift: Swift, store: PostgresEventStore
) -> None:
    assert (await swift.call("PUT", "c")).status == 201
    assert (await swift.call("PUT", "c/a", body=b"one")).status == 201
    assert (await swift.call("PUT", "c/a", body=b"second")).status == 201
    assert (await swift.call("DELETE", "c/a")).status == 204
    assert (await swift.call("PUT", "c/a", body=b"third!!")).status == 201
    response = await swift.call("GET", "c/a")
    assert (response.status, await response.read()) == (200, b"third!!")
    head = await swift.call("HEAD", "c")
    assert (head.headers["X-Container-Object-Count"], head.headers["X-Container-Bytes-Used"]) == (
        "1",
        "7",
    )
    assert len(await _blobs(client, swift)) == 1
    assert len(await _current_keys(swift, store)) == 1


async def test_a_quota_holds_exactly_for_concurrent_new_names(client: Client, swift: Swift) -> None:
    quota = {"X-Container-Meta-Quota-Count": "5"}
    assert (await swift.call("PUT", "c", headers=quota)).status == 201
    puts = [swift.call("PUT", f"c/o{n}", body=b"x" * 10) for n in range(12)]
    statuses = sorted(r.status for r in await asyncio.gather(*puts))
    assert statuses == [201] * 5 + [413] * 7
    assert len(await swift.json("c")) == 5
    assert len(await _blobs(client, swift)) == 5


async def test_a_versioned_container_keeps_the_replaced_version(swift: Swift) -> None:
    assert (await swift.call("PUT", "old")).status == 201
    assert (await swift.call("PUT", "c", headers={"X-Versions-Location": "old"})).status == 201
    assert (await swift.call("PUT", "c/a", body=b"v1")).status == 201
    assert (await swift.call("PUT", "c/a", body=b"v2")).status == 201
    archived = await swift.json("old")
    assert [o["bytes"] for o in archived] == [2]
    response = await swift.call("GET", f"old/{archived[0]['name']}")
    assert await response.read() == b"v1"


async def test_others_are_refused_before_anything_is_stored(
    client: Client, swift: Swift, bob_swift: Swift
) -> None:
    assert (await swift.call("PUT", "c")).status == 201
    response = await bob_swift.on(swift.project_id).call("PUT", "c/a", body=b"bytes")
    assert response.status == 403
    anonymous = await swift.anonymous().call("PUT", "c/a", body=b"bytes")
    assert anonymous.status == 401
    assert await _blobs(client, swift) == []


async def test_names_put_are_known_and_the_oldest_forgotten(
    client: Client, swift: Swift, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(known, "SIZE", 2)
    assert (await swift.call("PUT", "c")).status == 201
    for name in ("a", "b", "a", "c"):
        assert (await swift.call("PUT", f"c/{name}", body=name.encode())).status == 201
    names = known.known(client.app[STORE])
    streams = {n: object_stream(swift.project_id, "c", n) for n in "abc"}
    assert [streams[n] in names for n in "abc"] == [True, False, True]
    response = await swift.call("GET", "c/a")
    assert (response.status, await response.read()) == (200, b"a")
