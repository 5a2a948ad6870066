"""TempURL: objects read and written without a token, by a signed and expiring URL, for
one object or every object under a prefix, and what such a read answers."""

import hashlib
import hmac
import time

import pytest

from tests.integration.objects.conftest import Swift


def _signed(method: str, key: str, expires: int, path: str) -> str:
    body = f"{method}\n{expires}\n{path}".encode()
    return hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


def _temp_url(path: str, method: str, key: str, expires: int) -> str:
    return f"{path}?temp_url_sig={_signed(method, key, expires, path)}&temp_url_expires={expires}"


@pytest.fixture
async def box(swift: Swift) -> Swift:
    assert (await swift.call("PUT", "box")).status == 201
    key = {"X-Account-Meta-Temp-URL-Key": "secret"}
    assert (await swift.call("POST", headers=key)).status == 204
    return swift


async def test_temp_url_get_and_put_without_token(box: Swift) -> None:
    await box.call("PUT", "box/shared", body=b"hello")
    path = f"{box.root}/box/shared"
    expires = int(time.time()) + 60
    get = await box.client.get(_temp_url(path, "GET", "secret", expires))
    assert get.status == 200 and await get.read() == b"hello"
    head = await box.client.head(_temp_url(path, "GET", "secret", expires))
    assert head.status == 200
    put = await box.client.put(_temp_url(path, "PUT", "secret", expires), data=b"new")
    assert put.status == 201
    assert await (await box.call("GET", "box/shared")).read() == b"new"
    wrong = await box.client.get(_temp_url(path, "GET", "other", expires))
    assert wrong.status == 401
    expired = await box.client.get(_temp_url(path, "GET", "secret", int(time.time()) - 1))
    assert expired.status == 401
    assert (
        await box.client.put(_temp_url(path, "GET", "secret", expires), data=b"x")
    ).status == 401


async def test_a_signature_over_swifts_own_path_is_valid(box: Swift) -> None:
    await box.call("PUT", "box/o", body=b"hello")
    expires = int(time.time()) + 60
    sig = _signed("GET", "secret", expires, f"/v1/AUTH_{box.project_id}/box/o")
    query = f"temp_url_sig={sig}&temp_url_expires={expires}"
    assert (await box.client.get(f"{box.root}/box/o?{query}")).status == 200
    assert (await box.client.get(f"{box.root}/box/other?{query}")).status == 401


async def test_the_answer_names_the_file_and_hides_private_metadata(box: Swift) -> None:
    await box.call(
        "PUT",
        "box/dir/report.pdf",
        body=b"%PDF",
        headers={"X-Object-Meta-Secret": "s", "X-Object-Meta-Public-Tag": "t"},
    )
    expires = int(time.time()) + 60
    url = _temp_url(f"{box.root}/box/dir/report.pdf", "GET", "secret", expires)
    plain = await box.client.get(url)
    assert plain.status == 200
    assert plain.headers["Content-Disposition"] == (
        "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf"
    )
    assert "Expires" in plain.headers
    assert "X-Object-Meta-Secret" not in plain.headers
    assert plain.headers["X-Object-Meta-Public-Tag"] == "t"
    inline = await box.client.get(url + "&inline")
    assert inline.headers["Content-Disposition"] == "inline"
    named = await box.client.get(url + "&inline&filename=My%20File.pdf")
    assert named.headers["Content-Disposition"] == (
        "inline; filename=\"My File.pdf\"; filename*=UTF-8''My%20File.pdf"
    )
    attached = await box.client.head(url + "&filename=x.pdf")
    assert attached.headers["Content-Disposition"].startswith('attachment; filename="x.pdf"')
    owned = await box.call("GET", "box/dir/report.pdf")
    assert "Content-Disposition" not in owned.headers
    assert owned.headers["X-Object-Meta-Secret"] == "s"


async def test_the_objects_own_disposition_wins_unless_the_url_says(box: Swift) -> None:
    await box.call("PUT", "box/o", body=b"x", headers={"Content-Disposition": "inline"})
    url = _temp_url(f"{box.root}/box/o", "GET", "secret", int(time.time()) + 60)
    assert (await box.client.get(url)).headers["Content-Disposition"] == "inline"
    named = await box.client.get(url + "&filename=n.txt")
    assert named.headers["Content-Disposition"].startswith('attachment; filename="n.txt"')


async def test_a_prefix_url_reaches_only_the_names_under_it(box: Swift) -> None:
    await box.call("POST", "box", headers={"X-Container-Meta-Temp-URL-Key": "ckey"})
    await box.call("PUT", "box/public/a.txt", body=b"a")
    await box.call("PUT", "box/private/b.txt", body=b"b")
    expires = int(time.time()) + 60
    sig = _signed("GET", "ckey", expires, f"prefix:/v1/AUTH_{box.project_id}/box/public")
    query = f"temp_url_sig={sig}&temp_url_expires={expires}&temp_url_prefix=public"
    inside = await box.client.get(f"{box.root}/box/public/a.txt?{query}")
    assert inside.status == 200 and await inside.read() == b"a"
    assert (await box.client.get(f"{box.root}/box/private/b.txt?{query}")).status == 401
    assert (await box.client.get(f"{box.root}/box/public/a.txt?{query}x")).status == 401
    url_sig = _signed("GET", "ckey", expires, f"prefix:{box.root}/box/")
    whole = f"temp_url_sig={url_sig}&temp_url_expires={expires}&temp_url_prefix="
    assert (await box.client.get(f"{box.root}/box/private/b.txt?{whole}")).status == 200


async def test_a_temp_url_put_may_not_make_a_manifest(box: Swift) -> None:
    url = _temp_url(f"{box.root}/box/m", "PUT", "secret", int(time.time()) + 60)
    refused = await box.client.put(url, data=b"", headers={"X-Object-Manifest": "other/seg"})
    assert refused.status == 400
    assert "X-Object-Manifest" in await refused.text()
    assert (await box.call("HEAD", "box/m")).status == 404
