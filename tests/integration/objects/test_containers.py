"""Accounts and containers: usage headers, metadata, listings in three formats."""

import asyncio
from collections.abc import AsyncIterator
from xml.etree import ElementTree

import msgspec
import pytest

from service.config import Settings
from service.storage.configured import OBJECTS
from tests.integration.objects.conftest import Swift


async def test_empty_account_has_usage_headers(swift: Swift) -> None:
    response = await swift.call("HEAD")
    assert response.status == 204
    for header in (
        "X-Timestamp",
        "X-Account-Bytes-Used",
        "X-Account-Container-Count",
        "X-Account-Object-Count",
        "Content-Type",
        "X-Trans-Id",
        "Date",
    ):
        assert header in response.headers, header
    assert response.headers["X-Trans-Id"].startswith("tx")
    assert len(response.headers["X-Trans-Id"].split("-")[0]) == 23
    listing = await swift.call("GET")
    assert listing.status == 204


async def test_container_lifecycle_and_counters(swift: Swift) -> None:
    assert (await swift.call("PUT", "box", headers={"X-Container-Meta-Color": "red"})).status == 201
    assert (await swift.call("PUT", "box")).status == 202
    assert (await swift.call("PUT", "box/a", body=b"hello")).status == 201
    head = await swift.call("HEAD", "box")
    assert head.status == 204
    assert head.headers["X-Container-Object-Count"] == "1"
    assert head.headers["X-Container-Bytes-Used"] == "5"
    assert head.headers["X-Container-Meta-Color"] == "red"
    assert head.headers["X-Storage-Policy"]
    account = await swift.call("HEAD")
    assert account.headers["X-Account-Container-Count"] == "1"
    assert account.headers["X-Account-Object-Count"] == "1"
    assert account.headers["X-Account-Bytes-Used"] == "5"
    assert (await swift.call("DELETE", "box")).status == 409
    assert (await swift.call("DELETE", "box/a")).status == 204
    assert (await swift.call("DELETE", "box")).status == 204
    assert (await swift.call("HEAD", "box")).status == 404
    assert (await swift.call("DELETE", "box")).status == 404


async def test_counters_exact_under_concurrent_writes(swift: Swift) -> None:
    """Concurrent creations, overwrites and deletions into one container (names spread
    over its usage slots) leave the counts equal to what the listing holds."""
    assert (await swift.call("PUT", "busy")).status == 201
    first = await asyncio.gather(
        *(swift.call("PUT", f"busy/o{i}", body=b"x" * i) for i in range(60))
    )
    assert {r.status for r in first} == {201}
    changes = [swift.call("PUT", f"busy/o{i}", body=b"y" * (2 * i)) for i in range(0, 60, 3)]
    changes += [swift.call("DELETE", f"busy/o{i}") for i in range(1, 60, 3)]
    changes += [swift.call("PUT", f"busy/n{i}", body=b"z" * 7) for i in range(30)]
    assert {r.status for r in await asyncio.gather(*changes)} == {201, 204}
    listing = await swift.json("busy")
    head = await swift.call("HEAD", "busy")
    assert head.headers["X-Container-Object-Count"] == str(len(listing)) == "70"
    assert head.headers["X-Container-Bytes-Used"] == str(sum(o["bytes"] for o in listing))
    account = await swift.call("HEAD")
    assert account.headers["X-Account-Object-Count"] == "70"
    assert account.headers["X-Account-Bytes-Used"] == head.headers["X-Container-Bytes-Used"]


async def test_container_delete_racing_puts_never_leaves_objects_behind(swift: Swift) -> None:
    """A DELETE of a container racing PUTs into it (sent before, among and after them)
    either finds it not empty (409) or deletes it, and then the PUTs after it are 404:
    never a deleted container with objects, or objects without their container."""
    for round_, at in enumerate((0, 10, 20)):
        name = f"race{round_}"
        assert (await swift.call("PUT", name)).status == 201
        calls = [swift.call("PUT", f"{name}/o{i}", body=b"data") for i in range(20)]
        calls.insert(at, swift.call("DELETE", name))
        results = [r.status for r in await asyncio.gather(*calls)]
        deleted, stored = results.pop(at), results
        assert deleted in (204, 409) and set(stored) <= {201, 404}
        head = await swift.call("HEAD", name)
        if deleted == 204:
            assert 201 not in stored and head.status == 404
        else:
            assert head.headers["X-Container-Object-Count"] == str(stored.count(201))
            assert len(await swift.json(name)) == stored.count(201)


async def test_puts_whose_container_goes_while_their_bytes_arrive_are_404(
    swift: Swift,
) -> None:
    """PUTs that found their container, then lost it to a DELETE while their bodies
    were still arriving, store nothing (404); the container is gone and stays empty."""
    assert (await swift.call("PUT", "gone")).status == 201
    deleted = asyncio.Event()

    async def body() -> AsyncIterator[bytes]:
        yield b"first half, "
        await deleted.wait()
        yield b"second half"

    puts = [asyncio.ensure_future(swift.call("PUT", f"gone/o{i}", body=body())) for i in range(8)]
    # By then the PUTs have read their container (one that had not would be 404 all the same).
    await asyncio.sleep(0.2)
    assert (await swift.call("DELETE", "gone")).status == 204
    deleted.set()
    assert [r.status for r in await asyncio.gather(*puts)] == [404] * 8
    assert (await swift.call("HEAD", "gone")).status == 404
    assert (await swift.call("PUT", "gone")).status == 201
    assert (await swift.call("HEAD", "gone")).headers["X-Container-Object-Count"] == "0"


async def test_container_metadata_set_and_removed(swift: Swift) -> None:
    await swift.call("PUT", "box", headers={"X-Container-Meta-A": "1", "X-Container-Meta-B": "2"})
    response = await swift.call(
        "POST",
        "box",
        headers={
            "X-Remove-Container-Meta-A": "x",
            "X-Container-Meta-B": "",
            "X-Container-Meta-C": "3",
        },
    )
    assert response.status == 204
    head = await swift.call("HEAD", "box")
    assert "X-Container-Meta-A" not in head.headers
    assert "X-Container-Meta-B" not in head.headers
    assert head.headers["X-Container-Meta-C"] == "3"


async def test_account_metadata(swift: Swift) -> None:
    assert (await swift.call("POST", headers={"X-Account-Meta-Owner": "me"})).status == 204
    assert (await swift.call("HEAD")).headers["X-Account-Meta-Owner"] == "me"


async def test_account_listing_formats_and_paging(swift: Swift) -> None:
    for name in ("a", "b", "c", "d"):
        await swift.call("PUT", name)
    plain = await swift.call("GET")
    assert (await plain.text()) == "a\nb\nc\nd\n"
    assert plain.headers["Content-Type"].startswith("text/plain")
    assert [c["name"] for c in await swift.json(limit="2")] == ["a", "b"]
    assert [c["name"] for c in await swift.json(marker="b")] == ["c", "d"]
    assert [c["name"] for c in await swift.json(end_marker="c")] == ["a", "b"]
    assert [c["name"] for c in await swift.json(reverse="true")] == ["d", "c", "b", "a"]
    entry = (await swift.json(prefix="c"))[0]
    assert set(entry) == {"name", "count", "bytes", "last_modified", "storage_policy"}
    xml = await swift.call("GET", params={"format": "xml"})
    root = ElementTree.fromstring(await xml.read())
    assert root.tag == "account"
    assert [c.findtext("name") for c in root.iter("container")] == ["a", "b", "c", "d"]


async def test_object_listing_delimiter_prefix_path(swift: Swift) -> None:
    await swift.call("PUT", "box")
    for name in ("a.txt", "dir/one", "dir/two", "dir/sub/three", "zed"):
        assert (await swift.call("PUT", f"box/{name}", body=b"x")).status == 201
    names = await swift.json("box", delimiter="/")
    assert [n.get("name") or n.get("subdir") for n in names] == ["a.txt", "dir/", "zed"]
    names = await swift.json("box", delimiter="/", prefix="dir/")
    assert [n.get("name") or n.get("subdir") for n in names] == ["dir/one", "dir/sub/", "dir/two"]
    names = await swift.json("box", path="dir")
    assert [n["name"] for n in names] == ["dir/one", "dir/two"]
    reverse = await swift.json("box", delimiter="/", reverse="1")
    assert [n.get("name") or n.get("subdir") for n in reverse] == ["zed", "dir/", "a.txt"]
    entry = (await swift.json("box", prefix="a"))[0]
    assert entry["hash"] == "9dd4e461268c8034f5c8564e155c67a6"
    assert entry["bytes"] == 1
    xml = await swift.call("GET", "box", params={"format": "xml", "delimiter": "/"})
    root = ElementTree.fromstring(await xml.read())
    assert root.tag == "container"
    assert [s.get("name") for s in root.iter("subdir")] == ["dir/"]
    assert (await swift.call("GET", "box", params={"limit": "10001"})).status == 412


async def test_unknown_container_is_404_in_swift_style(swift: Swift) -> None:
    response = await swift.call("GET", "nothing")
    assert response.status == 404
    assert "<h1>Not Found</h1>" in await response.text()
    assert "X-Trans-Id" in response.headers


async def test_no_token_is_401_and_other_account_403(swift: Swift, bob_swift: Swift) -> None:
    assert (await swift.anonymous().call("HEAD")).status == 401
    assert (await bob_swift.on(swift.project_id).call("HEAD")).status == 403


async def test_info_lists_supported_middlewares(swift: Swift) -> None:
    response = await swift.client.get("/object/info")
    assert response.status == 200
    info = await response.json()
    assert {
        "swift",
        "tempurl",
        "slo",
        "dlo",
        "bulk_delete",
        "account_quotas",
        "container_quotas",
        "versioned_writes",
    } <= set(info)
    assert "sha256" in info["tempurl"]["allowed_digests"]
    assert info["swift"]["version"] == "2.34.0"
    assert info["swift"]["policies"] == [
        {"name": "Policy-0", "aliases": "Policy-0", "default": True}
    ]


async def test_one_storage_policy_holds_every_container(swift: Swift) -> None:
    assert (await swift.call("PUT", "box", headers={"X-Storage-Policy": "policy-0"})).status == 201
    silver = await swift.call("PUT", "silver", headers={"X-Storage-Policy": "silver"})
    assert silver.status == 400
    assert "Invalid X-Storage-Policy" in await silver.text()
    assert (await swift.call("HEAD", "silver")).status == 404
    await swift.call("PUT", "box/o", body=b"12345")
    head = await swift.call("HEAD")
    assert head.headers["X-Account-Storage-Policy-Policy-0-Container-Count"] == "1"
    assert head.headers["X-Account-Storage-Policy-Policy-0-Object-Count"] == "1"
    assert head.headers["X-Account-Storage-Policy-Policy-0-Bytes-Used"] == "5"
    assert [h for h in head.headers if "Storage-Policy" in h and "Policy-0" not in h] == []
    assert (await swift.call("HEAD", "box")).headers["X-Storage-Policy"] == "Policy-0"
    assert [c["storage_policy"] for c in await swift.json()] == ["Policy-0"]
    backend = swift.client.app[OBJECTS]  # the object backend, as before policies
    assert len([k async for k in backend.list(f"objects/{swift.project_id}/box/o/")]) == 1


async def test_healthcheck_answers_ok_without_a_token(swift: Swift) -> None:
    response = await swift.client.get("/object/healthcheck")
    assert response.status == 200
    assert await response.text() == "OK"
    assert "X-Trans-Id" in response.headers


CROSSDOMAIN_START = (
    '<?xml version="1.0"?>\n<!DOCTYPE cross-domain-policy SYSTEM '
    '"http://www.adobe.com/xml/dtds/cross-domain-policy.dtd" >\n<cross-domain-policy>\n'
)


async def test_crossdomain_policy_lets_any_domain_by_default(swift: Swift) -> None:
    response = await swift.client.get("/object/crossdomain.xml")
    assert response.status == 200
    assert response.content_type == "application/xml"
    assert await response.text() == (
        CROSSDOMAIN_START
        + '<allow-access-from domain="*" secure="false" />\n</cross-domain-policy>'
    )
    assert "crossdomain" in await (await swift.client.get("/object/info")).json()


class TestConfiguredCrossdomainPolicy:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        policy = '<allow-access-from domain="*.example.com" />'
        return msgspec.structs.replace(settings, cross_domain_policy=policy)

    async def test_the_policy_is_the_configured_one(self, swift: Swift) -> None:
        body = await (await swift.client.get("/object/crossdomain.xml")).text()
        assert body.startswith(CROSSDOMAIN_START)
        assert '<allow-access-from domain="*.example.com" />' in body
        assert 'domain="*"' not in body
