"""FormPost on both backends: a browser's signed form stores its files without a token,
under a prefix, with the form's limits, expiry and redirect; what it refuses."""

import base64
import hashlib
import hmac
import time

import pytest
from aiohttp import FormData

from tests.integration.objects.conftest import Swift

KEY = "form-key"


@pytest.fixture(params=["local", "s3"])
def object_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def box(swift: Swift) -> Swift:
    assert (await swift.call("PUT", "box")).status == 201
    assert (await swift.call("POST", headers={"X-Account-Meta-Temp-URL-Key": KEY})).status == 204
    return swift


def form(
    path: str,
    files: dict[str, bytes],
    *,
    key: str = KEY,
    expires: int | None = None,
    redirect: str = "",
    max_file_size: int = 1024,
    max_file_count: int = 10,
    extra: dict[str, str] | None = None,
    digest: str = "sha256",
) -> FormData:
    """The form a page would post to `path`, signed with `key`."""
    expires = int(time.time()) + 600 if expires is None else expires
    body = f"{path}\n{redirect}\n{max_file_size}\n{max_file_count}\n{expires}"
    mac = hmac.new(key.encode(), body.encode(), getattr(hashlib, digest))
    signature = (
        mac.hexdigest()
        if digest != "sha512"
        else f"sha512:{base64.urlsafe_b64encode(mac.digest()).decode().rstrip('=')}"
    )
    data = FormData(default_to_multipart=True)
    fields = {
        "redirect": redirect,
        "max_file_size": str(max_file_size),
        "max_file_count": str(max_file_count),
        "expires": str(expires),
        "signature": signature,
        **(extra or {}),
    }
    for name, value in fields.items():
        data.add_field(name, value)
    for index, (filename, content) in enumerate(files.items()):
        data.add_field(
            f"file{index}", content, filename=filename, content_type="application/x-thing"
        )
    return data


async def test_a_form_stores_its_files_under_the_prefix(box: Swift) -> None:
    path = f"{box.root}/box/up-"
    response = await box.client.post(path, data=form(path, {"a.txt": b"A", "b.txt": b"BB"}))
    assert response.status == 201
    assert await response.text() == "201 Created"
    assert [o["name"] for o in await box.json("box")] == ["up-a.txt", "up-b.txt"]
    get = await box.call("GET", "box/up-b.txt")
    assert await get.read() == b"BB"
    assert get.headers["Content-Type"] == "application/x-thing"


async def test_a_form_to_the_container_signed_over_swifts_path(box: Swift) -> None:
    await box.call("POST", "box", headers={"X-Container-Meta-Temp-URL-Key": "ckey"})
    extra = {"content-type": "text/csv", "x_delete_after": "600"}
    data = form(f"/v1/AUTH_{box.project_id}/box/", {"c.csv": b"1,2"}, key="ckey", extra=extra)
    response = await box.client.post(f"{box.root}/box/", data=data)
    assert response.status == 201
    head = await box.call("HEAD", "box/c.csv")
    assert head.headers["Content-Type"] == "text/csv"
    assert "X-Delete-At" in head.headers


async def test_a_base64_sha512_signature_and_a_redirect(box: Swift) -> None:
    path = f"{box.root}/box"
    data = form(path, {"r": b"r"}, redirect="https://example.com/done?x=1", digest="sha512")
    response = await box.client.post(path, data=data, allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "https://example.com/done?x=1&status=201&message="
    assert (await box.call("HEAD", "box/r")).status == 200


async def test_expired_and_badly_signed_forms_are_401(box: Swift) -> None:
    path = f"{box.root}/box/"
    expired = await box.client.post(path, data=form(path, {"e": b"e"}, expires=1))
    assert expired.status == 401
    assert "FormPost: Form Expired" in await expired.text()
    wrong = await box.client.post(path, data=form(path, {"w": b"w"}, key="other"))
    assert wrong.status == 401
    assert "FormPost: Invalid Signature" in await wrong.text()
    elsewhere = await box.client.post(f"{path}x", data=form(path, {"w": b"w"}))
    assert elsewhere.status == 401
    assert await box.json("box") == []


async def test_the_forms_limits(box: Swift) -> None:
    path = f"{box.root}/box/"
    big = await box.client.post(path, data=form(path, {"big": b"x" * 11}, max_file_size=10))
    assert big.status == 400
    assert "max_file_size exceeded" in await big.text()
    many = await box.client.post(path, data=form(path, {"1": b"1", "2": b"2"}, max_file_count=1))
    assert many.status == 400
    assert await many.text() == "400 Bad Request\r\nFormPost: Max File Count Exceeded"
    assert [o["name"] for o in await box.json("box")] == ["1"]
    empty = await box.client.post(path, data=form(path, {}))
    assert empty.status == 400
    assert "No Files To Process" in await empty.text()


async def test_a_quota_and_a_missing_container_refuse_the_file(box: Swift) -> None:
    await box.call("POST", "box", headers={"X-Container-Meta-Quota-Count": "0"})
    path = f"{box.root}/box/"
    assert (await box.client.post(path, data=form(path, {"q": b"q"}))).status == 413
    missing = f"{box.root}/nowhere/"
    assert (await box.client.post(missing, data=form(missing, {"m": b"m"}))).status == 404


async def test_a_form_that_is_not_multipart_is_400(box: Swift) -> None:
    response = await box.client.post(
        f"{box.root}/box/",
        data=b"no boundary here\r\n",
        headers={"Content-Type": "multipart/form-data; boundary=xyz"},
    )
    assert response.status == 400
    assert "FormPost: invalid starting boundary" in await response.text()


class TestObjectSizeLimit:
    @pytest.fixture
    def max_object_size(self) -> int:
        return 10

    async def test_a_file_over_the_largest_object_is_refused(self, box: Swift) -> None:
        path = f"{box.root}/box/"
        big = await box.client.post(path, data=form(path, {"big": b"x" * 11}))
        assert big.status == 400
        assert "max_file_size exceeded" in await big.text()
        assert await box.json("box") == []
