"""Accounts and containers: usage headers, metadata, listings in three formats."""

from xml.etree import ElementTree

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
    assert set(entry) == {"name", "count", "bytes", "last_modified"}
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
