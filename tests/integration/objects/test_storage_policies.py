"""Swift storage policies on three backends: Policy-0 (the app's local object backend),
`gold` (a local folder of its own, the default) and `cold` (a bucket on the session's
moto S3 server). Each container keeps its bytes, versions and segments on its policy's
backend, through Swift, S3, python-swiftclient and openstacksdk; /info, the headers,
counters, listings, 400s and 409s are Swift's; the reapers and a rebuild follow."""

import asyncio
import hashlib
import html
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import openstack
import pytest
from keystoneauth1 import session
from keystoneauth1.token_endpoint import Token
from swiftclient import client as swiftclient

from events.postgres import PostgresEventStore
from projections.runner import rebuild
from service.config import BackendSettings, Settings
from service.objects import orphan
from service.objects.events import ContainerCreated
from service.objects.expiry import reap_expired
from service.objects.naming import blob_key, container_stream
from service.objects.policy import STORAGE_POLICIES, StoragePolicies
from service.objects.projection import ObjectsProjection, PolicyConflict
from tests.integration.objects.conftest import Client, Person, ShiftedClock, Swift
from tests.integration.objects.s3_client import S3

# openstacksdk warns about its own internals (Resource._compute_attributes).
pytestmark = pytest.mark.filterwarnings("ignore::openstack.warnings._RemovedInSDKWarning")
POLICIES = ("Policy-0", "gold", "cold")


@pytest.fixture
def settings(settings: Settings, moto_url: str) -> Settings:
    """Two policies besides Policy-0: `gold` in its default folder, the default one, and
    `cold` in a bucket of its own on moto."""
    return msgspec.structs.replace(
        settings,
        object_policies={
            "gold": BackendSettings(type="local"),
            "cold": BackendSettings(type="s3", bucket=f"kumo-cold-{secrets.token_hex(6)}"),
        },
        object_default_policy="gold",
        s3_endpoint_url=moto_url,
        s3_access_key_id="testing",
        s3_secret_access_key="testing",
    )


def _policies(client: Client) -> StoragePolicies:
    return client.app[STORAGE_POLICIES]


async def _holders(client: Client, swift: Swift, path: str) -> list[str]:
    """The policies whose backends hold bytes of any version of `path` (container/object)."""
    prefix = f"objects/{swift.project_id}/{path}/"
    return [p.name for p in _policies(client) if [k async for k in p.backend.list(prefix)]]


async def _containers(swift: Swift, **policy_of: str) -> None:
    for name, policy in policy_of.items():
        response = await swift.call("PUT", name, headers={"X-Storage-Policy": policy})
        assert response.status == 201, await response.text()


async def _bytes(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _body(swift: Swift, path: str, **params: str) -> bytes:
    response = await swift.call("GET", path, params=params or None)
    assert response.status == 200, (path, response.status)
    return await response.read()


async def test_info_lists_every_policy_and_the_default(client: Client) -> None:
    info = await (await client.get("/object/info")).json()
    assert info["swift"]["policies"] == [
        {"name": "Policy-0", "aliases": "Policy-0"},
        {"name": "gold", "aliases": "gold", "default": True},
        {"name": "cold", "aliases": "cold"},
    ]


async def test_each_container_keeps_its_bytes_on_its_policys_backend(
    client: Client, swift: Swift, settings: Settings
) -> None:
    assert (await swift.call("PUT", "zero", headers={"X-Storage-Policy": "policy-0"})).status == 201
    assert (await swift.call("PUT", "plain")).status == 201
    assert (await swift.call("PUT", "ice", headers={"X-Storage-Policy": "COLD"})).status == 201
    big = secrets.token_bytes(200_000)
    for container, policy in (("zero", "Policy-0"), ("plain", "gold"), ("ice", "cold")):
        head = await swift.call("HEAD", container)
        assert head.headers["X-Storage-Policy"] == policy
        assert (await swift.call("PUT", f"{container}/small", body=b"tiny")).status == 201
        assert (await swift.call("PUT", f"{container}/big", body=big)).status == 201
        assert await _holders(client, swift, f"{container}/small") == [policy]
        assert await _holders(client, swift, f"{container}/big") == [policy]
        assert await _body(swift, f"{container}/small") == b"tiny"
        assert await _body(swift, f"{container}/big") == big
        listed = await swift.json(container)
        assert [(o["name"], o["bytes"]) for o in listed] == [("big", 200_000), ("small", 4)]
    gold = settings.data_dir / "policies" / "gold"  # its default folder
    assert len(list(gold.rglob("*.o"))) == 2


async def test_an_unknown_policy_is_400_and_another_one_409(swift: Swift) -> None:
    unknown = await swift.call("PUT", "box", headers={"X-Storage-Policy": "platinum"})
    assert unknown.status == 400
    assert "Invalid X-Storage-Policy 'platinum'" in html.unescape(await unknown.text())
    assert (await swift.call("HEAD", "box")).status == 404
    await _containers(swift, box="cold")
    assert (await swift.call("PUT", "box", headers={"X-Storage-Policy": "gold"})).status == 409
    assert (await swift.call("PUT", "box", headers={"X-Storage-Policy": "Policy-0"})).status == 409
    assert (await swift.call("PUT", "box", headers={"X-Storage-Policy": "Cold"})).status == 202
    again = await swift.call("PUT", "box", headers={"X-Container-Meta-Kind": "ice"})
    assert again.status == 202
    head = await swift.call("HEAD", "box")
    assert (head.headers["X-Storage-Policy"], head.headers["X-Container-Meta-Kind"]) == (
        "cold",
        "ice",
    )
    assert (await swift.call("DELETE", "box")).status == 204
    assert (await swift.call("PUT", "box", headers={"X-Storage-Policy": "gold"})).status == 201
    assert (await swift.call("HEAD", "box")).headers["X-Storage-Policy"] == "gold"


async def test_a_racing_creation_under_another_policy_is_refused(
    swift: Swift, store: PostgresEventStore
) -> None:
    """A creation that read no container before another made it under another policy:
    the append itself refuses it (the handler's 409), and one under the same changes
    nothing."""
    await _containers(swift, box="cold")
    stream = container_stream(swift.project_id, "box")
    racing = ContainerCreated(project_id=swift.project_id, container="box", storage_policy="gold")
    with pytest.raises(PolicyConflict):
        await store.append(stream, [racing])
    same = msgspec.structs.replace(racing, storage_policy="cold")
    await store.append(stream, [same])
    assert (await swift.call("HEAD", "box")).headers["X-Storage-Policy"] == "cold"


async def test_the_account_counts_each_policy_and_lists_each_containers(swift: Swift) -> None:
    await _containers(swift, a="Policy-0", b="cold", c="cold", d="cold")
    await swift.call("PUT", "a/x", body=b"123")
    await swift.call("PUT", "b/x", body=b"12345")
    await swift.call("PUT", "b/y", body=b"1")
    await swift.call("PUT", "c/x", body=b"12")
    head = await swift.call("HEAD", "")
    usage = {
        (policy, what): head.headers[f"X-Account-Storage-Policy-{policy}-{what}"]
        for policy in POLICIES
        for what in ("Container-Count", "Object-Count", "Bytes-Used")
    }
    assert usage == {
        ("Policy-0", "Container-Count"): "1",
        ("Policy-0", "Object-Count"): "1",
        ("Policy-0", "Bytes-Used"): "3",
        ("gold", "Container-Count"): "0",
        ("gold", "Object-Count"): "0",
        ("gold", "Bytes-Used"): "0",
        ("cold", "Container-Count"): "3",
        ("cold", "Object-Count"): "3",
        ("cold", "Bytes-Used"): "8",
    }
    totals = ("X-Account-Container-Count", "X-Account-Object-Count", "X-Account-Bytes-Used")
    assert [head.headers[t] for t in totals] == ["4", "4", "11"]
    listed = await swift.json()
    assert [(c["name"], c["count"], c["storage_policy"]) for c in listed] == [
        ("a", 1, "Policy-0"),
        ("b", 2, "cold"),
        ("c", 1, "cold"),
        ("d", 0, "cold"),
    ]


async def test_copies_move_bytes_to_the_target_containers_policy(
    client: Client, swift: Swift
) -> None:
    await _containers(swift, src="Policy-0", ice="cold", gild="gold")
    data = secrets.token_bytes(70_000)
    etag = hashlib.md5(data).hexdigest()
    await swift.call("PUT", "src/doc", body=data, headers={"X-Object-Meta-Color": "red"})
    put_copy = await swift.call("PUT", "ice/doc", headers={"X-Copy-From": "src/doc"})
    assert (put_copy.status, put_copy.headers["Etag"]) == (201, etag)
    copied = await swift.call("COPY", "ice/doc", headers={"Destination": "gild/doc"})
    assert (copied.status, copied.headers["X-Copied-From"]) == (201, "ice/doc")
    same = await swift.call("COPY", "ice/doc", headers={"Destination": "ice/twin"})
    assert same.status == 201
    for path, policy in (
        ("src/doc", "Policy-0"),
        ("ice/doc", "cold"),
        ("gild/doc", "gold"),
        ("ice/twin", "cold"),
    ):
        assert await _holders(client, swift, path) == [policy], path
        assert await _body(swift, path) == data
        head = await swift.call("HEAD", path)
        assert (head.headers["Etag"], head.headers["X-Object-Meta-Color"]) == (etag, "red")


async def test_large_objects_read_segments_from_their_own_policies(
    client: Client, swift: Swift
) -> None:
    await _containers(swift, parts="cold", more="Policy-0", big="gold", flat="Policy-0")
    one, two = b"a" * 1000, b"b" * 10
    await swift.call("PUT", "parts/seg/1", body=one)
    await swift.call("PUT", "more/seg/2", body=two)
    manifest = msgspec.json.encode(
        [
            {"path": "/parts/seg/1", "etag": hashlib.md5(one).hexdigest()},
            {"path": "/more/seg/2", "size_bytes": 10},
        ]
    )
    slo = await swift.call("PUT", "big/slo", body=manifest, params={"multipart-manifest": "put"})
    assert slo.status == 201, await slo.text()
    assert await _holders(client, swift, "big/slo") == ["gold"]
    assert await _body(swift, "big/slo") == one + two
    ranged = await swift.call("GET", "big/slo", headers={"Range": "bytes=995-1004"})
    assert (ranged.status, await ranged.read()) == (206, b"aaaaabbbbb")
    await swift.call("PUT", "parts/seg/0", body=b"zero")
    dlo = await swift.call("PUT", "big/dlo", body=b"", headers={"X-Object-Manifest": "parts/seg/"})
    assert dlo.status == 201
    assert await _body(swift, "big/dlo") == b"zero" + one
    flattened = await swift.call("PUT", "flat/slo", headers={"X-Copy-From": "big/slo"})
    assert flattened.status == 201
    assert await _holders(client, swift, "flat/slo") == ["Policy-0"]
    assert await _body(swift, "flat/slo") == one + two


async def test_versions_are_kept_on_their_containers_policies(client: Client, swift: Swift) -> None:
    await _containers(swift, old="gold", docs="cold", kept="Policy-0")
    await swift.call("POST", "docs", headers={"X-Versions-Location": "old"})
    await swift.call("PUT", "docs/a", body=b"first")
    await swift.call("PUT", "docs/a", body=b"second")
    archived = await swift.json("old")
    assert len(archived) == 1
    assert await _holders(client, swift, f"old/{archived[0]['name']}") == ["gold"]
    assert await _body(swift, "docs/a") == b"second"
    assert (await swift.call("DELETE", "docs/a")).status == 204
    assert await _body(swift, "docs/a") == b"first"
    assert await _holders(client, swift, "docs/a") == ["cold"]
    assert await swift.json("old") == []

    await swift.call("POST", "kept", headers={"X-Versions-Enabled": "true"})
    first = (await swift.call("PUT", "kept/b", body=b"one")).headers["X-Object-Version-Id"]
    await swift.call("PUT", "kept/b", body=b"two")
    assert await _body(swift, "kept/b", **{"version-id": first}) == b"one"
    assert await _holders(client, swift, "kept/b") == ["Policy-0"]
    prefix = f"objects/{swift.project_id}/kept/b/"
    backend = _policies(client).backend("Policy-0")
    assert len([k async for k in backend.list(prefix)]) == 2


async def test_the_reapers_delete_from_each_policys_backend(
    client: Client, swift: Swift, store: PostgresEventStore, clock: ShiftedClock
) -> None:
    await _containers(swift, ice="cold")
    policies = _policies(client)
    cold, gold = policies.backend("cold"), policies.backend("gold")
    await swift.call("PUT", "ice/soon", body=b"gone", headers={"X-Delete-After": "10"})
    await swift.call("PUT", "ice/stays", body=b"kept")
    clock.shift = timedelta(seconds=11)
    assert await reap_expired(store, policies, clock.now().timestamp()) == 1
    assert await _holders(client, swift, "ice/soon") == []

    version = await store.pool.fetchval(
        "SELECT version_id FROM rm_swift_objects WHERE project_id = $1 AND name = 'stays'",
        swift.project_id,
    )
    kept = blob_key(swift.project_id, "ice", "stays", version)
    lost = blob_key(swift.project_id, "ice", "stays", secrets.token_hex(16))
    await cold.put(lost, _bytes(b"crashed"))
    await gold.put(kept, _bytes(b"kept"))  # referenced, but by a container of cold
    later = datetime.now(UTC) + 2 * orphan.GRACE
    assert await orphan.reap_orphans(store.pool, policies, later, orphan.GRACE) == 2
    assert [await cold.head(lost), await gold.head(kept)] == [None, None]
    assert await cold.head(kept) is not None
    assert await _body(swift, "ice/stays") == b"kept"


async def test_the_s3_api_writes_on_the_buckets_policy(
    client: Client, swift: Swift, alice_s3: S3
) -> None:
    await alice_s3.call("create_bucket", Bucket="fresh")
    assert (await swift.call("HEAD", "fresh")).headers["X-Storage-Policy"] == "gold"
    await _containers(swift, ice="cold")
    await alice_s3.call("put_object", Bucket="ice", Key="k", Body=b"via s3")
    assert await _holders(client, swift, "ice/k") == ["cold"]
    created = await alice_s3.call("create_multipart_upload", Bucket="ice", Key="multi")
    upload_id = created["UploadId"]
    part = await alice_s3.call(
        "upload_part", Bucket="ice", Key="multi", UploadId=upload_id, PartNumber=1, Body=b"p1"
    )
    assert (await swift.call("HEAD", "ice+segments")).headers["X-Storage-Policy"] == "cold"
    await alice_s3.call(
        "complete_multipart_upload",
        Bucket="ice",
        Key="multi",
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    got = await alice_s3.call("get_object", Bucket="ice", Key="multi")
    assert got["Body"] == b"p1"
    assert await _holders(client, swift, "ice/multi") == ["cold"]
    await alice_s3.call("copy_object", Bucket="fresh", Key="c", CopySource="ice/k")
    assert await _holders(client, swift, "fresh/c") == ["gold"]
    assert (await alice_s3.call("get_object", Bucket="fresh", Key="c"))["Body"] == b"via s3"


def _with_swiftclient(conn: swiftclient.Connection) -> dict[str, Any]:
    conn.put_container("ice", headers={"X-Storage-Policy": "cold"})
    conn.put_container("gild")
    conn.put_object("ice", "doc", contents=b"cold bytes")
    return {
        "info": conn.get_capabilities()["swift"]["policies"],
        "ice": conn.head_container("ice"),
        "gild": conn.head_container("gild"),
        "account": conn.head_account(),
        "listing": conn.get_account()[1],
        "doc": conn.get_object("ice", "doc")[1],
    }


async def test_python_swiftclient_sees_the_policies(
    client: Client, swift: Swift, alice: Person
) -> None:
    url = str(client.make_url(f"/object/v1/AUTH_{alice.project_id}"))
    conn = swiftclient.Connection(preauthurl=url, preauthtoken=alice.token, retries=0)
    seen = await asyncio.to_thread(_with_swiftclient, conn)
    assert [p["name"] for p in seen["info"]] == list(POLICIES)
    assert seen["ice"]["x-storage-policy"] == "cold"
    assert seen["gild"]["x-storage-policy"] == "gold"
    assert seen["account"]["x-account-storage-policy-cold-bytes-used"] == "10"
    assert seen["account"]["x-account-storage-policy-gold-container-count"] == "1"
    assert [(c["name"], c["storage_policy"]) for c in seen["listing"]] == [
        ("gild", "gold"),
        ("ice", "cold"),
    ]
    assert seen["doc"] == b"cold bytes"
    assert await _holders(client, swift, "ice/doc") == ["cold"]


def _with_openstacksdk(url: str, token: str) -> tuple[str, bytes]:
    conn = openstack.connection.Connection(
        session=session.Session(auth=Token(url, token)), object_store_endpoint_override=url
    )
    store = conn.object_store
    store.create_container(name="ice", storage_policy="cold")
    store.upload_object("ice", "doc", data=b"sdk bytes")
    policy = store.get_container_metadata("ice").storage_policy
    return policy, store.download_object("doc", container="ice")


async def test_openstacksdk_chooses_a_policy(client: Client, swift: Swift, alice: Person) -> None:
    url = str(client.make_url(f"/object/v1/AUTH_{alice.project_id}"))
    policy, data = await asyncio.to_thread(_with_openstacksdk, url, alice.token)
    assert (policy, data) == ("cold", b"sdk bytes")
    assert await _holders(client, swift, "ice/doc") == ["cold"]


async def test_a_rebuild_from_the_log_gives_the_same_rows(
    swift: Swift, store: PostgresEventStore
) -> None:
    await _containers(swift, a="Policy-0", b="cold", c="gold")
    await swift.call("PUT", "b/x", body=b"12345")
    await swift.call("DELETE", "c")
    await _containers(swift, c="cold")
    await swift.call("PUT", "c/y", body=b"1")
    tables = ("rm_swift_containers", "rm_swift_objects", "rm_swift_container_slots")
    before = {t: await _rows(store, t) for t in tables}
    await rebuild(store, ObjectsProjection(), inline=True)
    assert {t: await _rows(store, t) for t in tables} == before
    assert [(c["name"], c["storage_policy"]) for c in await swift.json()] == [
        ("a", "Policy-0"),
        ("b", "cold"),
        ("c", "cold"),
    ]


async def _rows(store: PostgresEventStore, table: str) -> list[tuple[object, ...]]:
    rows = await store.pool.fetch(f"SELECT * FROM {table}")
    return sorted((tuple(r) for r in rows), key=repr)
