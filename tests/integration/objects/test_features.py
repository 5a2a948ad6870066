"""ACLs between projects, quotas, versioning, large objects and bulk delete."""

import asyncio
import hashlib

import msgspec
import pytest

from tests.integration.identity.conftest import Api, make_person
from tests.integration.objects.conftest import Person, Swift

SEGMENT = b"s" * 1024
SEGMENT_MD5 = hashlib.md5(SEGMENT).hexdigest()


@pytest.fixture
async def box(swift: Swift) -> Swift:
    assert (await swift.call("PUT", "box")).status == 201
    return swift


@pytest.mark.parametrize(
    ("acl", "reads", "writes"),
    [
        ("", False, False),
        ("{bob_project}", True, False),
        ("{bob_project}:{bob_user}", True, False),
        ("*:{bob_user}", True, False),
        ("{bob_project}:someone-else", False, False),
        (".r:*", True, False),
    ],
)
async def test_read_acl_matrix(
    box: Swift, bob_swift: Swift, bob: Person, acl: str, reads: bool, writes: bool
) -> None:
    value = acl.format(bob_project=bob.project_id, bob_user=bob.user_id)
    await box.call("POST", "box", headers={"X-Container-Read": value})
    await box.call("PUT", "box/o", body=b"data")
    as_bob = bob_swift.on(box.project_id)
    assert (await as_bob.call("GET", "box/o")).status == (200 if reads else 403)
    assert (await as_bob.call("PUT", "box/new", body=b"x")).status == (201 if writes else 403)


async def test_write_acl_and_anonymous_referrer(box: Swift, bob_swift: Swift, bob: Person) -> None:
    await box.call("POST", "box", headers={"X-Container-Write": f"{bob.project_id}:{bob.user_id}"})
    as_bob = bob_swift.on(box.project_id)
    assert (await as_bob.call("PUT", "box/from-bob", body=b"x")).status == 201
    assert (await as_bob.call("GET", "box/from-bob")).status == 403
    assert (await as_bob.call("POST", "box", headers={"X-Container-Read": "*"})).status == 403
    anonymous = box.anonymous()
    assert (await anonymous.call("GET", "box/from-bob")).status == 401
    await box.call("POST", "box", headers={"X-Container-Read": ".r:*"})
    assert (await anonymous.call("GET", "box/from-bob")).status == 200
    assert (await anonymous.call("GET", "box")).status == 401
    await box.call("POST", "box", headers={"X-Container-Read": ".r:*,.rlistings"})
    assert (await anonymous.call("GET", "box")).status == 200
    assert "X-Container-Read" not in (await anonymous.call("HEAD", "box")).headers


async def test_container_quotas(box: Swift) -> None:
    await box.call(
        "POST",
        "box",
        headers={"X-Container-Meta-Quota-Bytes": "10", "X-Container-Meta-Quota-Count": "2"},
    )
    assert (await box.call("PUT", "box/a", body=b"12345")).status == 201
    assert (await box.call("PUT", "box/b", body=b"123456")).status == 413
    assert (await box.call("PUT", "box/b", body=b"1")).status == 201
    assert (await box.call("PUT", "box/c", body=b"1")).status == 413
    assert (
        await box.call("POST", "box", headers={"X-Container-Meta-Quota-Count": "x"})
    ).status == 400


async def test_container_quotas_exact_under_racing_puts(box: Swift) -> None:
    """Racing PUTs that each fit the usage they read: exactly as many get in as the
    quotas allow (the append enforces them), the others are 413 and leave nothing."""
    await box.call("POST", "box", headers={"X-Container-Meta-Quota-Bytes": "250"})
    puts = await asyncio.gather(*(box.call("PUT", f"box/o{i}", body=b"x" * 100) for i in range(8)))
    assert sorted(r.status for r in puts) == [201] * 2 + [413] * 6
    head = await box.call("HEAD", "box")
    assert (head.headers["X-Container-Object-Count"], head.headers["X-Container-Bytes-Used"]) == (
        "2",
        "200",
    )
    await box.call("POST", "box", headers={"X-Container-Meta-Quota-Count": "5"})
    puts = await asyncio.gather(*(box.call("PUT", f"box/n{i}", body=b"") for i in range(8)))
    assert sorted(r.status for r in puts) == [201] * 3 + [413] * 5
    assert len(await box.json("box")) == 5


async def test_account_quota_exact_under_racing_puts(box: Swift, as_admin: Api) -> None:
    reseller = await make_person(as_admin, "ResellerAdmin", "reseller")
    as_reseller = Swift(box.client, reseller, box.project_id)
    assert (await as_reseller.call("POST", headers={"X-Account-Quota-Count": "3"})).status == 204
    assert (await box.call("PUT", "other")).status == 201
    puts = await asyncio.gather(
        *(box.call("PUT", f"{('box', 'other')[i % 2]}/o{i}", body=b"x") for i in range(8))
    )
    assert sorted(r.status for r in puts) == [201] * 3 + [413] * 5
    assert (await box.call("HEAD")).headers["X-Account-Object-Count"] == "3"


async def test_account_quota_only_reseller_sets_it(box: Swift, as_admin: Api) -> None:
    assert (await box.call("POST", headers={"X-Account-Meta-Quota-Bytes": "10"})).status == 403
    reseller = await make_person(as_admin, "ResellerAdmin", "reseller")
    as_reseller = Swift(box.client, reseller, box.project_id)
    assert (
        await as_reseller.call("POST", headers={"X-Account-Meta-Quota-Bytes": "10"})
    ).status == 204
    assert (await box.call("PUT", "box/a", body=b"12345678901")).status == 413
    assert (await box.call("PUT", "box/a", body=b"1234567890")).status == 201
    assert (await box.call("HEAD", "box")).headers["X-Container-Bytes-Used"] == "10"
    assert (
        await box.call("POST", headers={"X-Remove-Account-Meta-Quota-Bytes": "x"})
    ).status == 403


async def test_account_quota_count_and_bytes(box: Swift, as_admin: Api) -> None:
    quotas = {"X-Account-Quota-Count": "2", "X-Account-Quota-Bytes": "6"}
    assert (await box.call("POST", headers=quotas)).status == 403
    reseller = await make_person(as_admin, "ResellerAdmin", "reseller")
    as_reseller = Swift(box.client, reseller, box.project_id)
    assert (await as_reseller.call("POST", headers=quotas)).status == 204
    head = await box.call("HEAD")
    assert head.headers["X-Account-Quota-Count"] == "2"
    assert (await box.call("PUT", "box/a", body=b"abc")).status == 201
    assert (await box.call("PUT", "box/b", body=b"abcd")).status == 413
    assert (await box.call("PUT", "box/b", body=b"abc")).status == 201
    assert (await box.call("PUT", "box/c", body=b"")).status == 413
    assert (await box.call("PUT", "box/a", body=b"xyz")).status == 201  # a replacement
    bad = await as_reseller.call("POST", headers={"X-Account-Quota-Count": "many"})
    assert bad.status == 400
    removed = await as_reseller.call("POST", headers={"X-Remove-Account-Quota-Count": "x"})
    assert removed.status == 204
    assert (await box.call("PUT", "box/c", body=b"")).status == 201


async def test_versions_location_stack(box: Swift) -> None:
    await box.call("PUT", "versions")
    await box.call("PUT", "docs", headers={"X-Versions-Location": "versions"})
    assert (await box.call("HEAD", "docs")).headers["X-Versions-Location"] == "versions"
    await box.call("PUT", "docs/o", body=b"one")
    await box.call("PUT", "docs/o", body=b"two")
    assert await (await box.call("GET", "docs/o")).read() == b"two"
    assert len(await box.json("versions")) == 1
    assert (await box.call("DELETE", "docs/o")).status == 204
    assert await (await box.call("GET", "docs/o")).read() == b"one"
    assert await box.json("versions") == []
    assert (await box.call("DELETE", "docs/o")).status == 204
    assert (await box.call("GET", "docs/o")).status == 404


async def test_history_location_keeps_deleted(box: Swift) -> None:
    await box.call("PUT", "history")
    await box.call("PUT", "docs", headers={"X-History-Location": "history"})
    await box.call("PUT", "docs/o", body=b"one")
    await box.call("DELETE", "docs/o")
    assert (await box.call("GET", "docs/o")).status == 404
    archived = await box.json("history")
    assert len(archived) == 1 and archived[0]["name"].startswith("001o/")


async def _segments(box: Swift) -> list[dict[str, object]]:
    for i in (1, 2):
        assert (await box.call("PUT", f"box/seg/{i}", body=SEGMENT)).status == 201
    return [{"path": f"/box/seg/{i}", "etag": SEGMENT_MD5, "size_bytes": 1024} for i in (1, 2)]


async def test_static_large_object(box: Swift) -> None:
    manifest = msgspec.json.encode(await _segments(box))
    put = await box.call("PUT", "box/big", body=manifest, params={"multipart-manifest": "put"})
    assert put.status == 201, await put.text()
    expected = hashlib.md5((SEGMENT_MD5 * 2).encode()).hexdigest()
    assert put.headers["Etag"] == f'"{expected}"'
    get = await box.call("GET", "box/big")
    assert await get.read() == SEGMENT * 2
    assert get.headers["X-Static-Large-Object"] == "True"
    assert get.headers["Etag"] == f'"{expected}"'
    ranged = await box.call("GET", "box/big", headers={"Range": "bytes=1020-1030"})
    assert await ranged.read() == SEGMENT[1020:] + SEGMENT[:7]
    raw = await box.call("GET", "box/big", params={"multipart-manifest": "get"})
    assert [e["name"] for e in msgspec.json.decode(await raw.read())] == [
        "/box/seg/1",
        "/box/seg/2",
    ]
    delete = await box.call("DELETE", "box/big", params={"multipart-manifest": "delete"})
    assert delete.status == 200
    assert (await box.call("HEAD", "box")).headers["X-Container-Object-Count"] == "0"


async def test_slo_segment_checks(box: Swift) -> None:
    segments = await _segments(box)
    segments[0]["etag"] = "0" * 32
    segments[1]["size_bytes"] = 1
    bad = msgspec.json.encode([*segments, {"path": "/box/missing"}])
    response = await box.call("PUT", "box/big", body=bad, params={"multipart-manifest": "put"})
    assert response.status == 400
    text = await response.text()
    assert "Etag Mismatch" in text and "Size Mismatch" in text and "404 Not Found" in text
    assert (await box.call("HEAD", "box/big")).status == 404


async def test_dynamic_large_object(box: Swift) -> None:
    await _segments(box)
    put = await box.call("PUT", "box/dlo", body=b"", headers={"X-Object-Manifest": "box/seg/"})
    assert put.status == 201
    head = await box.call("HEAD", "box/dlo")
    assert head.headers["X-Object-Manifest"] == "box/seg/"
    assert head.headers["Content-Length"] == "2048"
    assert head.headers["Etag"].startswith('"')
    assert await (await box.call("GET", "box/dlo")).read() == SEGMENT * 2


async def test_bulk_delete(box: Swift) -> None:
    await box.call("PUT", "box/a", body=b"1")
    await box.call("PUT", "empty")
    body = "/box/a\n/box/missing\n/empty\n"
    response = await box.call(
        "POST", body=body, params={"bulk-delete": ""}, headers={"Accept": "application/json"}
    )
    assert response.status == 200
    result = msgspec.json.decode(await response.read())
    assert result["Number Deleted"] == 2
    assert result["Number Not Found"] == 1
