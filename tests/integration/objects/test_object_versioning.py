"""Swift's object versioning (X-Versions-Enabled): overwrites and deletes keep versions,
`?versions` lists them, `?version-id=` reads or deletes one, suspending keeps what is
kept, usage and quotas count versions' bytes, expiry and the orphan reaper leave them,
and a rebuild of the objects model from the log gives the same rows. On both backends."""

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from swiftclient import client as swiftclient

from events.postgres import PostgresEventStore
from projections.runner import rebuild
from service.objects import orphan
from service.objects.api import object as object_api
from service.objects.expiry import reap_expired
from service.objects.policy import STORAGE_POLICIES
from service.objects.projection import ObjectsProjection
from service.storage.configured import OBJECTS
from tests.integration.objects.conftest import Client, Person, ShiftedClock, Swift
from tests.integration.objects.s3_client import S3
from tests.integration.objects.test_swift_cli import Cli

MARKER = "application/x-deleted;swift_versions_deleted=1"
ID = "X-Object-Version-Id"


@pytest.fixture(params=["local", "s3"])
def object_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def box(swift: Swift) -> Swift:
    """Alice's container `box`, versioning enabled."""
    created = await swift.call("PUT", "box", headers={"X-Versions-Enabled": "true"})
    assert created.status == 201
    return swift


async def _put(swift: Swift, path: str, body: bytes, **headers: str) -> str:
    """PUT, and the new version's id."""
    response = await swift.call("PUT", path, body=body, headers=headers)
    assert response.status == 201, await response.text()
    return response.headers[ID]


async def _versions(swift: Swift, container: str = "box", **params: str) -> list[Any]:
    """The `?versions` listing: (name, version id, latest, bytes, content type)s."""
    listing = await swift.json(container, versions="", **params)
    return [
        (e["name"], e["version_id"], e["is_latest"], e["bytes"], e["content_type"])
        if "name" in e
        else e
        for e in listing
    ]


async def _usage(swift: Swift, container: str = "box") -> tuple[int, int]:
    head = await swift.call("HEAD", container)
    return int(head.headers["X-Container-Object-Count"]), int(
        head.headers["X-Container-Bytes-Used"]
    )


async def _body(swift: Swift, path: str, version_id: str | None = None) -> tuple[int, bytes]:
    params = None if version_id is None else {"version-id": version_id}
    response = await swift.call("GET", path, params=params)
    return response.status, await response.read()


async def test_overwrites_keep_versions_that_list_and_read(box: Swift) -> None:
    head = await box.call("HEAD", "box")
    assert head.headers["X-Versions-Enabled"] == "True"
    first = await _put(box, "box/doc", b"one", **{"Content-Type": "text/one"})
    second = await _put(box, "box/doc", b"second", **{"Content-Type": "text/two"})
    assert first != second and "null" not in (first, second)
    current = await box.call("GET", "box/doc")
    assert (await current.read(), current.headers[ID]) == (b"second", second)
    assert await _body(box, "box/doc", first) == (200, b"one")
    old = await box.call("HEAD", "box/doc", params={"version-id": first})
    assert (old.headers[ID], old.headers["Content-Type"]) == (first, "text/one")
    assert await _versions(box) == [
        ("doc", second, True, 6, "text/two"),
        ("doc", first, False, 3, "text/one"),
    ]
    assert [o["name"] for o in await box.json("box")] == ["doc"]
    assert await _usage(box) == (1, 9)  # Swift: current objects, every version's bytes
    account = await box.call("HEAD")
    assert account.headers["X-Account-Bytes-Used"] == "9"
    assert account.headers["X-Account-Object-Count"] == "1"


async def test_delete_writes_a_marker_and_versions_go_one_by_one(box: Swift) -> None:
    first = await _put(box, "box/doc", b"one")
    second = await _put(box, "box/doc", b"two!")
    deleted = await box.call("DELETE", "box/doc")
    assert deleted.status == 204
    marker = deleted.headers[ID]
    assert marker not in (first, second)
    assert (await box.call("GET", "box/doc")).status == 404
    assert await box.json("box") == []
    at_marker = await box.call("HEAD", "box/doc", params={"version-id": marker})
    assert (at_marker.status, at_marker.headers["Content-Type"]) == (404, MARKER)
    assert at_marker.headers[ID] == marker
    assert await _versions(box) == [
        ("doc", marker, True, 0, MARKER),
        ("doc", second, False, 4, "application/octet-stream"),
        ("doc", first, False, 3, "application/octet-stream"),
    ]
    assert await _usage(box) == (0, 7)
    assert (await box.call("DELETE", "box")).status == 409  # versions remain

    gone = await box.call("DELETE", "box/doc", params={"version-id": first})
    assert (gone.status, gone.headers[ID]) == (204, first)
    assert (await _body(box, "box/doc", first))[0] == 404
    assert await _usage(box) == (0, 4)
    for version in (marker, second):
        assert (await box.call("DELETE", "box/doc", params={"version-id": version})).status == 204
    assert await _versions(box) == []
    assert await _usage(box) == (0, 0)
    assert [k async for k in box.client.app[OBJECTS].list("objects/")] == []
    assert (await box.call("DELETE", "box")).status == 204


async def test_deleting_the_current_version_by_id_leaves_no_current(box: Swift) -> None:
    first = await _put(box, "box/doc", b"one")
    second = await _put(box, "box/doc", b"two")
    assert (await box.call("DELETE", "box/doc", params={"version-id": second})).status == 204
    assert (await box.call("GET", "box/doc")).status == 404
    assert await _versions(box) == [("doc", first, False, 3, "application/octet-stream")]
    assert await _usage(box) == (0, 3)
    null = await box.call("DELETE", "box/doc", params={"version-id": "null"})
    assert null.status == 404  # no current version


async def test_null_version_id_removes_the_current_version_but_keeps_it(box: Swift) -> None:
    first = await _put(box, "box/doc", b"one")
    second = await _put(box, "box/doc", b"two")
    assert (await box.call("DELETE", "box/doc", params={"version-id": "null"})).status == 204
    assert (await box.call("GET", "box/doc")).status == 404
    assert [v[1] for v in await _versions(box)] == [second, first]


async def test_suspended_versioning_keeps_what_it_kept(box: Swift) -> None:
    kept = await _put(box, "box/doc", b"kept")
    assert (await box.call("POST", "box", headers={"X-Versions-Enabled": "false"})).status == 204
    assert (await box.call("HEAD", "box")).headers["X-Versions-Enabled"] == "False"
    plain = await box.call("PUT", "box/doc", body=b"plain")
    assert ID not in plain.headers
    assert (await box.call("PUT", "box/doc", body=b"plain two")).status == 201
    current = await box.call("GET", "box/doc")
    assert (await current.read(), current.headers[ID]) == (b"plain two", "null")
    assert await _body(box, "box/doc", "null") == (200, b"plain two")
    assert await _versions(box) == [
        ("doc", "null", True, 9, "application/octet-stream"),
        ("doc", kept, False, 4, "application/octet-stream"),
    ]
    assert await _usage(box) == (1, 13)  # the first unversioned write was replaced
    deleted = await box.call("DELETE", "box/doc")
    assert (deleted.status, deleted.headers.get(ID)) == (204, None)
    assert await _versions(box) == [("doc", kept, False, 4, "application/octet-stream")]
    assert (await box.call("POST", "box", headers={"X-Versions-Enabled": "yes"})).status == 204
    await _put(box, "box/doc", b"again")
    latest = await _put(box, "box/doc", b"again!")
    listed = await _versions(box)
    assert (len(listed), listed[0][1:3]) == (3, (latest, True))


async def test_versioning_and_legacy_versions_exclude_each_other(swift: Swift) -> None:
    assert (await swift.call("PUT", "archive")).status == 201
    legacy = await swift.call("PUT", "old", headers={"X-Versions-Location": "archive"})
    assert legacy.status == 201
    refused = await swift.call("POST", "old", headers={"X-Versions-Enabled": "true"})
    assert refused.status == 400
    assert (await swift.call("PUT", "new", headers={"X-Versions-Enabled": "true"})).status == 201
    refused = await swift.call("POST", "new", headers={"X-History-Location": "archive"})
    assert refused.status == 400
    assert "X-Versions-Enabled" not in (await swift.call("HEAD", "old")).headers


async def test_version_requests_outside_versioning_are_refused(swift: Swift, box: Swift) -> None:
    assert (await swift.call("PUT", "plain")).status == 201
    await _put(box, "box/doc", b"x")
    assert (await swift.call("PUT", "plain/doc", body=b"x")).status == 201
    asked = await swift.call("GET", "plain/doc", params={"version-id": "abc"})
    assert asked.status == 400
    plain = await swift.call("GET", "plain/doc", params={"version-id": "null"})
    assert plain.status == 200
    assert ID not in (await swift.call("GET", "plain/doc")).headers
    posted = await box.call("POST", "box/doc", params={"version-id": "null"})
    assert posted.status == 400
    put = await box.call("PUT", "box/doc", body=b"y", params={"version-id": "null"})
    assert put.status == 400
    unknown = await box.call("GET", "box/doc", params={"version-id": "f" * 32})
    assert unknown.status == 404


async def test_paging_with_version_marker(box: Swift) -> None:
    a = [await _put(box, "box/a", bytes([n])) for n in range(3)]
    b = await _put(box, "box/b", b"b")
    await _put(box, "box/dir/x", b"x")
    everything = await _versions(box)
    assert [(v[0], v[1]) for v in everything[:4]] == [
        ("a", a[2]),
        ("a", a[1]),
        ("a", a[0]),
        ("b", b),
    ]
    pages, marker, version_marker = [], "", ""
    while True:
        params = {"limit": "2", "marker": marker}
        if version_marker:
            params["version_marker"] = version_marker
        page = await _versions(box, **params)
        if not page:
            break
        pages += page
        marker, version_marker = page[-1][0], page[-1][1]
    assert pages == everything
    assert await _versions(box, delimiter="/") == [*everything[:4], {"subdir": "dir/"}]
    reverse = await _versions(box, reverse="true")
    assert [v[0] for v in reverse] == ["dir/x", "b", "a", "a", "a"]
    refused = await box.call("GET", "box", params={"versions": "", "version_marker": a[0]})
    assert refused.status == 400
    plain = await box.call("GET", "box", params={"versions": ""})
    assert (await plain.text()).split() == ["a", "a", "a", "b", "dir/x"]
    xml = await box.call("GET", "box", params={"versions": "", "format": "xml", "limit": "1"})
    assert "<name>a</name>" in await xml.text()
    assert f"<version_id>{a[2]}</version_id><is_latest>True</is_latest>" in await xml.text()


async def test_a_container_never_versioned_lists_null_versions(swift: Swift) -> None:
    assert (await swift.call("PUT", "plain")).status == 201
    assert (await swift.call("PUT", "plain/doc", body=b"x")).status == 201
    assert await _versions(swift, "plain") == [("doc", "null", True, 1, "application/octet-stream")]


async def test_a_small_put_by_the_owner_is_versioned_too(box: Swift) -> None:
    """Such a PUT is stored before its container is read (writes.put_new): the append
    refuses it unversioned, and it goes again, versioned."""
    for name in ("new-1", "new-2"):
        response = await box.call("PUT", f"box/{name}", body=b"small")
        assert response.status == 201
        assert response.headers[ID] != "null"
    again = await _put(box, "box/new-1", b"small again")
    listed = await _versions(box, prefix="new-1")
    assert (len(listed), listed[0][1:3]) == (2, (again, True))


async def test_quotas_count_every_version(box: Swift) -> None:
    await _put(box, "box/doc", b"aaaaa")
    await _put(box, "box/doc", b"bbbbb")
    quota = {"X-Container-Meta-Quota-Bytes": "10"}
    assert (await box.call("POST", "box", headers=quota)).status == 204
    assert (await box.call("PUT", "box/doc", body=b"ccccc")).status == 413
    assert (await box.call("PUT", "box/other", body=b"")).status == 201


async def test_expiry_keeps_a_versioned_object(
    box: Swift, client: Client, clock: ShiftedClock, store: PostgresEventStore
) -> None:
    at = int(datetime.now(UTC).timestamp()) + 60
    version = await _put(
        box, "box/doc", b"soon gone", **{"X-Delete-At": str(at), "X-Object-Meta-Color": "blue"}
    )
    clock.shift = timedelta(seconds=120)
    assert (await box.call("GET", "box/doc")).status == 404
    assert await reap_expired(store, client.app[STORAGE_POLICIES], at + 1) == 1
    kept = await box.call("GET", "box/doc", params={"version-id": version})
    assert (kept.status, await kept.read()) == (200, b"soon gone")
    assert kept.headers["X-Object-Meta-Color"] == "blue"
    assert "X-Delete-At" not in kept.headers
    assert await _versions(box) == [("doc", version, False, 9, "application/octet-stream")]
    assert await _usage(box) == (0, 9)


async def test_the_orphan_reaper_leaves_noncurrent_versions(
    box: Swift, client: Client, store: PostgresEventStore
) -> None:
    first = await _put(box, "box/doc", b"one")
    await _put(box, "box/doc", b"two")
    marker = (await box.call("DELETE", "box/doc")).headers[ID]
    later = datetime.now(UTC) + 2 * orphan.GRACE
    policies = client.app[STORAGE_POLICIES]
    assert await orphan.reap_orphans(store.pool, policies, later, orphan.GRACE) == 0
    assert await _body(box, "box/doc", first) == (200, b"one")
    assert len([k async for k in client.app[OBJECTS].list("objects/")]) == 2
    assert marker


async def test_copies_symlinks_and_large_objects_in_a_versioned_container(box: Swift) -> None:
    await _put(box, "box/seg/1", b"a" * 5)
    await _put(box, "box/seg/2", b"b" * 5)
    await _put(box, "box/src", b"source")
    copied = await box.call("PUT", "box/dst", body=b"", headers={"X-Copy-From": "box/src"})
    assert copied.status == 201 and copied.headers[ID] != "null"
    old = await _put(box, "box/dst", b"overwritten")
    await box.call("COPY", "box/src", headers={"Destination": "box/dst"})
    assert await _body(box, "box/dst") == (200, b"source")
    assert await _body(box, "box/dst", old) == (200, b"overwritten")
    link = await box.call("PUT", "box/link", body=b"", headers={"X-Symlink-Target": "box/src"})
    assert link.status == 201
    assert await _body(box, "box/link") == (200, b"source")
    await _put(box, "box/src", b"source two")
    assert await _body(box, "box/link") == (200, b"source two")
    manifest = b'[{"path": "box/seg/1"}, {"path": "box/seg/2"}]'
    slo = await box.call("PUT", "box/big", body=manifest, params={"multipart-manifest": "put"})
    assert slo.status == 201
    first = slo.headers[ID]
    await _put(box, "box/big", b"small now")
    assert await _body(box, "box/big", first) == (200, b"aaaaabbbbb")
    manifest_of = await box.call(
        "GET", "box/big", params={"version-id": first, "multipart-manifest": "get"}
    )
    assert [s["name"] for s in await manifest_of.json()] == ["/box/seg/1", "/box/seg/2"]


async def test_copy_of_an_old_version_restores_it(box: Swift) -> None:
    old = await _put(box, "box/doc", b"old", **{"X-Object-Meta-Age": "old"})
    await _put(box, "box/doc", b"new")
    marker = (await box.call("DELETE", "box/doc")).headers[ID]
    restored = await box.call(
        "COPY", "box/doc", params={"version-id": old}, headers={"Destination": "box/doc"}
    )
    assert restored.status == 201
    current = await box.call("GET", "box/doc")
    assert (await current.read(), current.headers["X-Object-Meta-Age"]) == (b"old", "old")
    assert len(await _versions(box)) == 4
    assert (await box.call("PUT", "box/doc", body=b"y", params={"version-id": old})).status == 400
    await _put(box, "box/doc", b"newer")
    again = await box.call("PUT", "box/doc", body=b"", params={"version-id": old})
    assert again.status == 201 and again.headers[ID] != old
    assert await _body(box, "box/doc") == (200, b"old")
    from_marker = await box.call(
        "COPY", "box/doc", params={"version-id": marker}, headers={"Destination": "box/x"}
    )
    assert from_marker.status == 404


async def test_an_old_dynamic_large_object_reads_its_segments(box: Swift) -> None:
    await _put(box, "box/parts/1", b"ab")
    await _put(box, "box/parts/2", b"cd")
    dlo = await _put(box, "box/dlo", b"", **{"X-Object-Manifest": "box/parts/"})
    await _put(box, "box/dlo", b"plain")
    assert await _body(box, "box/dlo", dlo) == (200, b"abcd")
    assert await _body(box, "box/dlo") == (200, b"plain")


async def test_a_delete_racing_an_overwrite_keeps_what_it_keeps(
    swift: Swift, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A DELETE that read its container before versioning was enabled, then lost to a
    versioned overwrite that kept the version it meant to delete, leaves its bytes."""
    assert (await swift.call("PUT", "c")).status == 201
    assert (await swift.call("PUT", "c/doc", body=b"old")).status == 201
    read, go = asyncio.Event(), asyncio.Event()
    original = object_api.container_and_current

    async def held(request: Any, *, write: bool) -> Any:
        found = await original(request, write=write)
        read.set()
        await go.wait()
        return found

    monkeypatch.setattr(object_api, "container_and_current", held)
    deleting = asyncio.create_task(swift.call("DELETE", "c/doc"))
    await read.wait()
    assert (await swift.call("POST", "c", headers={"X-Versions-Enabled": "true"})).status == 204
    await _put(swift, "c/doc", b"new")
    go.set()
    assert (await deleting).status == 204
    (_, kept, *_) = (await _versions(swift, "c"))[1]
    assert await _body(swift, "c/doc", kept) == (200, b"old")


async def test_bulk_and_manifest_deletes_leave_delete_markers(box: Swift) -> None:
    kept = await _put(box, "box/a", b"1")
    deleted = await box.call(
        "POST", body="/box/a\n", params={"bulk-delete": ""}, headers={"Accept": "application/json"}
    )
    assert (await deleted.json())["Number Deleted"] == 1
    assert [(v[1] == kept, v[4]) for v in await _versions(box)] == [
        (False, MARKER),
        (True, "application/octet-stream"),
    ]
    await _put(box, "box/seg", b"segment")
    manifest = b'[{"path": "box/seg"}]'
    slo = await box.call("PUT", "box/big", body=manifest, params={"multipart-manifest": "put"})
    gone = await box.call("DELETE", "box/big", params={"multipart-manifest": "delete"})
    assert gone.status == 200
    assert await box.json("box") == []
    assert await _body(box, "box/seg", (await _versions(box, prefix="seg"))[1][1]) == (
        200,
        b"segment",
    )
    assert (await _versions(box, prefix="big"))[1][1] == slo.headers[ID]


async def test_info_advertises_object_versioning(client: Client) -> None:
    info = await (await client.get("/object/info")).json()
    assert "object_versioning" in info


async def test_a_rebuild_from_the_log_gives_the_same_rows(
    box: Swift, store: PostgresEventStore
) -> None:
    await _put(box, "box/a", b"1")
    await _put(box, "box/a", b"22")
    await box.call("DELETE", "box/a")
    first = await _put(box, "box/b", b"333")
    await _put(box, "box/b", b"4444")
    await box.call("DELETE", "box/b", params={"version-id": first})
    await box.call("POST", "box", headers={"X-Versions-Enabled": "false"})
    await box.call("PUT", "box/c", body=b"5")
    await box.call("PUT", "box/c", body=b"66")
    await box.call("POST", "box/c", headers={"X-Object-Meta-K": "v"})
    tables = ("rm_swift_objects", "rm_swift_versions", "rm_swift_container_slots")
    before = {t: await _rows(store, t) for t in tables}
    listing = await _versions(box)
    assert len(before["rm_swift_versions"]) == 3
    await rebuild(store, ObjectsProjection(), inline=True)
    assert {t: await _rows(store, t) for t in tables} == before
    assert await _versions(box) == listing


async def _rows(store: PostgresEventStore, table: str) -> list[tuple[object, ...]]:
    rows = await store.pool.fetch(f"SELECT * FROM {table}")
    return sorted((tuple(r) for r in rows), key=repr)


async def test_the_md5_of_a_marker_is_the_empty_ones(box: Swift) -> None:
    await _put(box, "box/doc", b"x")
    await box.call("DELETE", "box/doc")
    (entry,) = [e for e in await box.json("box", versions="") if e["content_type"] == MARKER]
    assert entry["hash"] == hashlib.md5(b"").hexdigest()


async def test_the_swift_cli_lists_downloads_and_deletes_versions(
    client: Client, alice: Person, tmp_path: Path
) -> None:
    cli = Cli(client, alice, alice.project_id, tmp_path)
    (tmp_path / "doc.txt").write_bytes(b"first")
    await cli.run("upload", "box", "doc.txt")
    await cli.run("post", "-H", "X-Versions-Enabled: true", "box")
    _, stat = await cli.run("stat", "box")
    assert "Versions-Enabled: True" in stat
    (tmp_path / "doc.txt").write_bytes(b"second!")
    await cli.run("upload", "box", "doc.txt")
    await cli.run("delete", "box", "doc.txt")
    _, listing = await cli.run("list", "--versions", "box")
    lines = [line.split() for line in listing.splitlines()]
    assert [(line[0], line[-2], line[-1]) for line in lines] == [
        ("0", MARKER, "doc.txt"),
        ("7", "text/plain", "doc.txt"),
        ("5", "text/plain", "doc.txt"),
    ]
    second, first = lines[1][3], lines[2][3]
    assert "null" not in (first, second)  # the first, stored unversioned, kept under its id
    _, body = await cli.run("download", "box", "doc.txt", "--version-id", second, "-o", "-")
    assert body == "second!"
    await cli.run("delete", "box", "doc.txt", "--version-id", second)
    _, listing = await cli.run("list", "--versions", "box")
    assert len(listing.splitlines()) == 2
    await cli.run("delete", "box", "--versions")
    _, containers = await cli.run("list")
    assert containers.split() == []


def _client_calls(conn: swiftclient.Connection) -> dict[str, Any]:
    conn.put_container("box", headers={"X-Versions-Enabled": "true"})
    first = conn.put_object("box", "o", contents=b"v1", response_dict=(put := {}))
    conn.put_object("box", "o", contents=b"v2")
    _, listing = conn.get_container("box", query_string="versions")
    headers, body = conn.get_object(
        "box", "o", query_string=f"version-id={listing[1]['version_id']}"
    )
    return {"etag": first, "put": put, "listing": listing, "headers": headers, "body": body}


async def test_swiftclient_reads_a_version(client: Client, alice: Person) -> None:
    url = str(client.make_url(f"/object/v1/AUTH_{alice.project_id}"))
    conn = swiftclient.Connection(preauthurl=url, preauthtoken=alice.token, retries=0)
    result = await asyncio.to_thread(_client_calls, conn)
    assert [e["is_latest"] for e in result["listing"]] == [True, False]
    assert result["body"] == b"v1"
    assert (
        result["headers"]["x-object-version-id"] == result["put"]["headers"]["x-object-version-id"]
    )


async def test_the_s3_api_on_a_versioned_bucket(s3: S3, swift: Swift) -> None:
    assert (await swift.call("POST", "bkt", headers={"X-Versions-Enabled": "true"})).status == 204
    await s3.call("put_object", Bucket="bkt", Key="k", Body=b"one")
    await s3.call("put_object", Bucket="bkt", Key="k", Body=b"two")
    assert (await s3.call("get_object", Bucket="bkt", Key="k"))["Body"] == b"two"
    created = await s3.call("create_multipart_upload", Bucket="bkt", Key="big")
    upload = {"Bucket": "bkt", "Key": "big", "UploadId": created["UploadId"]}
    part = await s3.call("upload_part", **upload, PartNumber=1, Body=b"in parts")
    done = {"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]}
    await s3.call("complete_multipart_upload", **upload, MultipartUpload=done)
    (big,) = [v for v in await _versions(swift, "bkt") if v[0] == "big"]
    await s3.call("delete_object", Bucket="bkt", Key="k")
    await s3.call("delete_object", Bucket="bkt", Key="big")
    assert await s3.error("get_object", Bucket="bkt", Key="k") == (404, "NoSuchKey")
    listed = await _versions(swift, "bkt")
    assert [(v[0], v[2], v[4] == MARKER) for v in listed] == [
        ("big", True, True),
        ("big", False, False),
        ("k", True, True),
        ("k", False, False),
        ("k", False, False),
    ]
    assert await _body(swift, "bkt/k", listed[4][1]) == (200, b"one")
    assert await _body(swift, "bkt/big", big[1]) == (200, b"in parts")  # its parts stay
