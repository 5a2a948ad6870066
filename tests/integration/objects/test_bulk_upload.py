"""Bulk upload (`?extract-archive`) on both backends: archives unpacked into containers,
a container or a prefix, with their files' metadata; what the body answers in each
format; and what is refused: a bad archive, quotas, ACLs, too big a file."""

import io
import tarfile
from xml.etree import ElementTree

import msgspec
import pytest

from tests.integration.objects.conftest import Swift

JSON = {"Accept": "application/json"}


@pytest.fixture(params=["local", "s3"])
def object_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def archive(
    files: dict[str, bytes], compression: str = "", pax: dict[str, dict[str, str]] | None = None
) -> bytes:
    """A tar of `files` (path: bytes) and an empty folder, with the `pax` headers of each
    path that has some."""
    out = io.BytesIO()
    mode = f"w:{compression}" if compression else "w"
    with tarfile.open(fileobj=out, mode=mode, format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.pax_headers = (pax or {}).get(path, {})
            tar.addfile(info, io.BytesIO(data))
        directory = tarfile.TarInfo("empty-dir")
        directory.type = tarfile.DIRTYPE
        tar.addfile(directory)
    return out.getvalue()


async def upload(
    swift: Swift, path: str, body: bytes, kind: str = "tar", headers: dict[str, str] | None = None
) -> dict[str, object]:
    response = await swift.call(
        "PUT",
        path,
        body=body,
        params={"extract-archive": kind},
        headers={**JSON, **(headers or {})},
    )
    assert response.status == 200, await response.text()
    assert response.content_type == "application/json"
    result: dict[str, object] = msgspec.json.decode(await response.read())
    return result


async def test_an_archive_at_the_account_makes_its_containers(swift: Swift) -> None:
    body = archive({"photos/a.jpg": b"A", "photos/sub/b.txt": b"BB", "docs/c": b"C", "top": b"x"})
    result = await upload(swift, "", body)
    assert result == {
        "Number Files Created": 3,
        "Response Status": "201 Created",
        "Response Body": "",
        "Errors": [],
    }
    assert [c["name"] for c in await swift.json()] == ["docs", "photos"]
    assert [o["name"] for o in await swift.json("photos")] == ["a.jpg", "sub/b.txt"]
    get = await swift.call("GET", "photos/sub/b.txt")
    assert await get.read() == b"BB"
    assert get.headers["Content-Type"] == "text/plain"
    assert (await swift.call("HEAD", "photos/a.jpg")).headers["Content-Type"] == "image/jpeg"
    head = await swift.call("HEAD")
    assert (head.headers["X-Account-Object-Count"], head.headers["X-Account-Bytes-Used"]) == (
        "3",
        "4",
    )


@pytest.mark.parametrize(("kind", "compression"), [("tar.gz", "gz"), ("tar.bz2", "bz2")])
async def test_a_compressed_archive_into_a_prefix(
    swift: Swift, kind: str, compression: str
) -> None:
    assert (await swift.call("PUT", "box")).status == 201
    body = archive({"./one": b"1", "dir/two": b"22"}, compression)
    result = await upload(swift, "box/in", body, kind)
    assert result["Number Files Created"] == 2
    assert [o["name"] for o in await swift.json("box")] == ["in/dir/two", "in/one"]


async def test_metadata_from_the_request_and_the_files_attributes(swift: Swift) -> None:
    attributes = {
        "SCHILY.xattr.user.mime_type": "application/x-custom",
        "SCHILY.xattr.user.meta.colour": "red",
        "LIBARCHIVE.xattr.user.meta.size": "big",
        "SCHILY.xattr.user.other": "ignored",
    }
    body = archive({"f.txt": b"f", "g.txt": b"g"}, pax={"f.txt": attributes})
    headers = {"X-Object-Meta-Batch": "7", "X-Delete-After": "3600"}
    assert (await upload(swift, "box", body, headers=headers))["Number Files Created"] == 2
    f = await swift.call("HEAD", "box/f.txt")
    assert f.headers["Content-Type"] == "application/x-custom"
    assert f.headers["X-Object-Meta-Colour"] == "red"
    assert f.headers["X-Object-Meta-Size"] == "big"
    assert f.headers["X-Object-Meta-Batch"] == "7"
    assert "X-Delete-At" in f.headers
    g = await swift.call("HEAD", "box/g.txt")
    assert g.headers["X-Object-Meta-Batch"] == "7" and "X-Object-Meta-Colour" not in g.headers


async def test_the_result_in_plain_text_and_xml(swift: Swift) -> None:
    body = archive({"c/o": b"x"})
    plain = await swift.call("PUT", body=body, params={"extract-archive": "tar"})
    assert plain.status == 200 and plain.content_type == "text/plain"
    assert await plain.text() == (
        "Number Files Created: 1\nResponse Body: \nResponse Status: 201 Created\nErrors:\n"
    )
    xml = await swift.call(
        "PUT", body=body, params={"extract-archive": "tar"}, headers={"Accept": "text/xml"}
    )
    root = ElementTree.fromstring(await xml.read())
    assert root.tag == "extract"
    assert root.findtext("number_files_created") == "1"
    assert root.findtext("response_status") == "201 Created"


class TestHeartbeat:
    @pytest.fixture
    def bulk_heartbeat(self) -> float:
        return 0.0

    async def test_a_long_upload_keeps_the_connection_with_whitespace(self, swift: Swift) -> None:
        body = archive({"c/a": b"a", "c/b": b"b"})
        response = await swift.call(
            "PUT", body=body, params={"extract-archive": "tar"}, headers=JSON
        )
        text = await response.text()
        assert text.startswith("  ")
        assert msgspec.json.decode(text)["Number Files Created"] == 2


async def test_what_is_not_an_archive(swift: Swift) -> None:
    unsupported = await swift.call("PUT", body=b"x", params={"extract-archive": "zip"})
    assert unsupported.status == 400
    assert "Unsupported archive format" in await unsupported.text()
    garbage = await upload(swift, "", b"this is not a tar file" * 100)
    assert garbage["Response Status"] == "400 Bad Request"
    assert str(garbage["Response Body"]).startswith("Invalid Tar File")
    truncated = await upload(swift, "", archive({"c/o": b"x" * 5000})[:1500])
    assert truncated["Response Status"] == "400 Bad Request"
    not_gzip = await upload(swift, "", archive({"c/o": b"x"}), "tar.gz")
    assert str(not_gzip["Response Body"]).startswith("Invalid Tar File")
    empty = await upload(swift, "", archive({"only-top-level": b"x"}))
    assert empty["Response Body"] == "Invalid Tar File: No Valid Files"
    assert [(c["name"], c["count"]) for c in await swift.json()] == [("c", 0)]


async def test_names_swift_refuses_fail_alone(swift: Swift) -> None:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name in (f"{'c' * 300}/o", "ok/bad\udcffname", "ok/o"):
            info = tarfile.TarInfo(name)
            info.size = 1
            tar.addfile(info, io.BytesIO(b"x"))
    result = await upload(swift, "", out.getvalue())
    assert result["Number Files Created"] == 1
    assert result["Errors"] == [
        [f"{'c' * 300}/o", "400 Bad Request"],
        ["ok/bad%FFname", "412 Precondition Failed"],
    ]


async def test_each_file_counts_against_the_quota(swift: Swift) -> None:
    quota = {"X-Container-Meta-Quota-Count": "1"}
    assert (await swift.call("PUT", "box", headers=quota)).status == 201
    result = await upload(swift, "", archive({"box/a": b"a", "box/b": b"b"}))
    assert result["Number Files Created"] == 1
    assert result["Errors"] == [["box/b", "413 Request Entity Too Large"]]
    assert result["Response Status"] == "400 Bad Request"
    assert [o["name"] for o in await swift.json("box")] == ["a"]


async def test_others_need_the_write_acl(swift: Swift, bob_swift: Swift) -> None:
    assert (await swift.call("PUT", "shared")).status == 201
    bob_here = bob_swift.on(swift.project_id)
    refused = await upload(bob_here, "", archive({"shared/x": b"x", "new/y": b"y"}))
    assert refused["Number Files Created"] == 0
    assert refused["Errors"] == [["shared/x", "403 Forbidden"], ["new/y", "403 Forbidden"]]
    acl = {"X-Container-Write": f"{bob_swift.project_id}:*"}
    assert (await swift.call("POST", "shared", headers=acl)).status == 204
    allowed = await upload(bob_here, "", archive({"shared/x": b"x"}))
    assert allowed["Number Files Created"] == 1
    anonymous = await upload(swift.anonymous(), "", archive({"shared/z": b"z"}))
    assert anonymous["Response Status"] == "401 Unauthorized"
    assert [o["name"] for o in await swift.json("shared")] == ["x"]
    assert [c["name"] for c in await swift.json()] == ["shared"]


class TestSizeLimit:
    @pytest.fixture
    def max_object_size(self) -> int:
        return 10

    async def test_a_file_over_the_size_limit_is_refused_alone(self, swift: Swift) -> None:
        result = await upload(swift, "", archive({"c/big": b"x" * 11, "c/small": b"x"}))
        assert result["Errors"] == [["c/big", "413 Request Entity Too Large"]]
        assert [o["name"] for o in await swift.json("c")] == ["small"]


async def test_unpacked_then_deleted_in_bulk_by_delete(swift: Swift) -> None:
    await upload(swift, "", archive({"c/o": b"x"}))
    response = await swift.call("DELETE", body="c/o\nc", params={"bulk-delete": ""}, headers=JSON)
    assert response.status == 200
    assert msgspec.json.decode(await response.read())["Number Deleted"] == 2
    assert await swift.json() == []
    assert (await swift.call("DELETE")).status == 405
    assert (await swift.call("PUT")).status == 405
