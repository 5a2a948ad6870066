"""Symlinks on both backends: made by an empty PUT with X-Symlink-Target, followed by
GET, HEAD and copies (across containers and accounts, as far as the reader may read),
shown as themselves with ?symlink=get; static links checked by etag; what is refused."""

import hashlib
import hmac
import time

import pytest

from tests.integration.objects.conftest import Swift

DATA = b"the target's bytes"
MD5 = hashlib.md5(DATA).hexdigest()


@pytest.fixture(params=["local", "s3"])
def object_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def box(swift: Swift) -> Swift:
    for container in ("box", "other"):
        assert (await swift.call("PUT", container)).status == 201
    meta = {"X-Object-Meta-T": "1", "Content-Type": "text/plain"}
    put = await swift.call("PUT", "box/target.txt", body=DATA, headers=meta)
    assert put.status == 201
    return swift


async def link(swift: Swift, path: str, target: str, **headers: str) -> int:
    """PUT a symlink as swiftclient does: no body, no Content-Type unless given."""
    sent = {"X-Symlink-Target": target, **{k.replace("_", "-"): v for k, v in headers.items()}}
    assert swift.person is not None
    response = await swift.client.put(
        f"{swift.root}/{path}",
        headers={"X-Auth-Token": swift.person.token, **sent},
        skip_auto_headers=["Content-Type"],
    )
    await response.read()
    return response.status


async def test_a_symlink_reads_as_its_target(box: Swift) -> None:
    assert await link(box, "box/link", "box/target.txt") == 201
    get = await box.call("GET", "box/link")
    assert get.status == 200 and await get.read() == DATA
    assert get.headers["Etag"] == MD5
    assert get.headers["X-Object-Meta-T"] == "1"
    assert get.headers["Content-Location"] == f"/object/v1/AUTH_{box.project_id}/box/target.txt"
    head = await box.call("HEAD", "box/link")
    assert head.headers["Content-Length"] == str(len(DATA))
    itself = await box.call("GET", "box/link", params={"symlink": "get"})
    assert itself.status == 200 and await itself.read() == b""
    assert itself.headers["Content-Type"] == "application/symlink"
    assert itself.headers["X-Symlink-Target"] == "box/target.txt"
    assert itself.headers["X-Symlink-Target-Account"] == f"AUTH_{box.project_id}"
    listing = {o["name"]: o for o in await box.json("box")}
    assert listing["link"]["content_type"] == "application/symlink"
    assert listing["link"]["bytes"] == 0
    assert listing["link"]["symlink_path"] == f"/v1/AUTH_{box.project_id}/box/target.txt"
    assert "symlink_path" not in listing["target.txt"]


async def test_links_across_containers_chains_and_their_limit(box: Swift) -> None:
    assert await link(box, "other/one", "box/target.txt") == 201
    assert await link(box, "other/two", "other/one") == 201
    assert await link(box, "other/three", "other/two") == 201
    assert await (await box.call("GET", "other/one")).read() == DATA
    two = await box.call("GET", "other/two")
    assert await two.read() == DATA
    assert two.headers["Content-Location"].endswith("/box/target.txt")
    three = await box.call("GET", "other/three")
    assert three.status == 409
    assert "Too many levels of symbolic links" in await three.text()


async def test_a_broken_symlink_is_404_and_deleting_it_keeps_the_target(box: Swift) -> None:
    assert await link(box, "box/broken", "box/missing") == 201
    assert (await box.call("GET", "box/broken")).status == 404
    assert (await box.call("GET", "box/broken", params={"symlink": "get"})).status == 200
    assert await link(box, "box/link", "box/target.txt") == 201
    assert (await box.call("DELETE", "box/link")).status == 204
    assert (await box.call("GET", "box/target.txt")).status == 200
    assert await link(box, "box/link", "box/target.txt") == 201
    assert (await box.call("DELETE", "box/target.txt")).status == 204
    assert (await box.call("GET", "box/link")).status == 404


async def test_another_accounts_target_needs_its_read_acl(box: Swift, bob_swift: Swift) -> None:
    assert (await bob_swift.call("PUT", "bobs")).status == 201
    assert (await bob_swift.call("PUT", "bobs/secret", body=b"bob")).status == 201
    account = f"AUTH_{bob_swift.project_id}"
    assert await link(box, "box/to-bob", "bobs/secret", X_Symlink_Target_Account=account) == 201
    assert (await box.call("GET", "box/to-bob")).status == 403
    acl = {"X-Container-Read": f"{box.project_id}:*"}
    assert (await bob_swift.call("POST", "bobs", headers=acl)).status == 204
    got = await box.call("GET", "box/to-bob")
    assert got.status == 200 and await got.read() == b"bob"


async def test_a_static_symlink_checks_its_targets_etag(box: Swift) -> None:
    assert await link(box, "box/s", "box/target.txt", X_Symlink_Target_Etag="0" * 32) == 409
    assert await link(box, "box/s", "box/missing", X_Symlink_Target_Etag=MD5) == 409
    assert await link(box, "box/s", "box/target.txt", X_Symlink_Target_Etag=MD5) == 201
    head = await box.call("HEAD", "box/s", params={"symlink": "get"})
    assert head.headers["Content-Type"] == "text/plain"
    assert head.headers["X-Symlink-Target-Etag"] == MD5
    entry = {o["name"]: o for o in await box.json("box")}["s"]
    assert (entry["symlink_etag"], entry["symlink_bytes"]) == (MD5, len(DATA))
    assert await (await box.call("GET", "box/s")).read() == DATA
    await box.call("PUT", "box/target.txt", body=b"changed")
    assert (await box.call("GET", "box/s")).status == 409


async def test_what_a_symlink_put_or_post_may_not_do(box: Swift) -> None:
    with_body = await box.call(
        "PUT", "box/l", body=b"x", headers={"X-Symlink-Target": "box/target.txt"}
    )
    assert with_body.status == 400
    assert "zero byte body" in await with_body.text()
    assert await link(box, "box/l", "box/l") == 400
    assert await link(box, "box/l", "no-object") == 412
    assert await link(box, "box/l", "/box/target.txt") == 412
    assert await link(box, "box/l", "box/target.txt", X_Symlink_Target_Account="bob") == 400
    post = await box.call("POST", "box/target.txt", headers={"X-Symlink-Target": "box/x"})
    assert post.status == 400


async def test_a_post_to_a_symlink_changes_it_and_redirects(box: Swift) -> None:
    assert await link(box, "box/link", "box/target.txt") == 201
    assert box.person is not None
    post = await box.client.post(
        f"{box.root}/box/link",
        headers={"X-Auth-Token": box.person.token, "X-Object-Meta-Note": "n"},
        allow_redirects=False,
    )
    assert post.status == 307
    assert post.headers["Location"] == f"/object/v1/AUTH_{box.project_id}/box/target.txt"
    itself = await box.call("HEAD", "box/link", params={"symlink": "get"})
    assert itself.headers["X-Object-Meta-Note"] == "n"
    assert itself.headers["X-Symlink-Target"] == "box/target.txt"
    assert await (await box.call("GET", "box/link")).read() == DATA
    assert "X-Object-Meta-Note" not in (await box.call("HEAD", "box/target.txt")).headers


async def test_a_copy_takes_the_target_unless_asked_for_the_link(box: Swift) -> None:
    assert await link(box, "box/link", "box/target.txt") == 201
    copied = await box.call("COPY", "box/link", headers={"Destination": "other/copy"})
    assert copied.status == 201
    assert await (await box.call("GET", "other/copy", params={"symlink": "get"})).read() == DATA
    as_link = await box.call(
        "COPY", "box/link", headers={"Destination": "other/link"}, params={"symlink": "get"}
    )
    assert as_link.status == 201
    head = await box.call("HEAD", "other/link", params={"symlink": "get"})
    assert head.headers["X-Symlink-Target"] == "box/target.txt"
    assert await (await box.call("GET", "other/link")).read() == DATA


def _temp_url(path: str, method: str) -> str:
    expires = int(time.time()) + 60
    signature = hmac.new(b"k", f"{method}\n{expires}\n{path}".encode(), hashlib.sha256)
    return f"{path}?temp_url_sig={signature.hexdigest()}&temp_url_expires={expires}"


async def test_a_temp_url_follows_only_within_its_container(box: Swift) -> None:
    assert (await box.call("POST", headers={"X-Account-Meta-Temp-URL-Key": "k"})).status == 204
    assert await link(box, "box/near", "box/target.txt") == 201
    assert await link(box, "other/far", "box/target.txt") == 201
    near = await box.client.get(_temp_url(f"{box.root}/box/near", "GET"))
    assert near.status == 200 and await near.read() == DATA
    assert near.headers["Content-Disposition"].startswith('attachment; filename="near"')
    assert (await box.client.get(_temp_url(f"{box.root}/other/far", "GET"))).status == 401
    put = await box.client.put(
        _temp_url(f"{box.root}/box/new", "PUT"),
        data=b"",
        headers={"X-Symlink-Target": "other/far"},
    )
    assert put.status == 400
