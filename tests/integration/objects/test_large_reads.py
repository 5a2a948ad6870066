"""GETs of objects bigger than a read chunk, on both backends: whole, one range, several
ranges, conditional, and a static large object's segments. On the local backend the
bytes go by sendfile (service/http/sendfile.py), on S3 chunk by chunk; the answers are
the same."""

import hashlib
import io
import os
import re

import msgspec
import pytest

from tests.integration.http.conftest import sendfile_calls  # noqa: F401 - fixture
from tests.integration.objects.conftest import Swift

MiB = 1024 * 1024
DATA = os.urandom(3 * MiB + 7)
MD5 = hashlib.md5(DATA).hexdigest()


@pytest.fixture(params=["local", "s3"])
def object_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def box(swift: Swift) -> Swift:
    assert (await swift.call("PUT", "box")).status == 201
    assert (await swift.call("PUT", "box/big", body=io.BytesIO(DATA))).status == 201
    return swift


def by_sendfile(object_backend: str, calls: list[int]) -> bool:
    """Whether the bytes went by sendfile exactly when the backend is local."""
    return bool(calls) == (object_backend == "local")


async def test_whole_and_one_range(
    box: Swift,
    object_backend: str,
    sendfile_calls: list[int],  # noqa: F811
) -> None:
    whole = await box.call("GET", "box/big")
    assert whole.status == 200
    assert await whole.read() == DATA
    assert whole.headers["Etag"] == MD5
    assert whole.headers["Content-Length"] == str(len(DATA))
    for header, first, last in [
        ("bytes=1000-2500000", 1000, 2500000),
        ("bytes=-2000000", len(DATA) - 2000000, len(DATA) - 1),
        (f"bytes={MiB}-", MiB, len(DATA) - 1),
    ]:
        ranged = await box.call("GET", "box/big", headers={"Range": header})
        assert ranged.status == 206, header
        assert await ranged.read() == DATA[first : last + 1], header
        assert ranged.headers["Content-Range"] == f"bytes {first}-{last}/{len(DATA)}"
    assert by_sendfile(object_backend, sendfile_calls)


async def test_several_ranges(
    box: Swift,
    object_backend: str,
    sendfile_calls: list[int],  # noqa: F811
) -> None:
    ranges = [(0, 1500000), (2 * MiB, 3 * MiB + 6), (10, 19)]
    header = "bytes=" + ",".join(f"{first}-{last}" for first, last in ranges)
    response = await box.call("GET", "box/big", headers={"Range": header})
    assert response.status == 206
    kind = response.headers["Content-Type"]
    boundary = re.fullmatch(r"multipart/byteranges;boundary=(\S+)", kind)
    assert boundary is not None, kind
    body = await response.read()
    assert int(response.headers["Content-Length"]) == len(body)
    delimiter = f"--{boundary.group(1)}".encode()
    pieces = body.split(delimiter)
    assert pieces[0] == b"" and pieces[-1] == b"--"
    for piece, (first, last) in zip(pieces[1:-1], ranges, strict=True):
        head, _, content = piece.partition(b"\r\n\r\n")
        assert f"Content-Range: bytes {first}-{last}/{len(DATA)}".encode() in head
        assert content.removesuffix(b"\r\n") == DATA[first : last + 1]
    assert by_sendfile(object_backend, sendfile_calls)


async def test_conditions(box: Swift) -> None:
    head = await box.call("HEAD", "box/big")
    modified = head.headers["Last-Modified"]
    matched = await box.call("GET", "box/big", headers={"If-Match": MD5})
    assert (matched.status, await matched.read()) == (200, DATA)
    ranged = await box.call("GET", "box/big", headers={"If-Match": MD5, "Range": "bytes=5-"})
    assert (ranged.status, await ranged.read()) == (206, DATA[5:])
    for headers, status in [
        ({"If-None-Match": MD5}, 304),
        ({"If-Modified-Since": modified}, 304),
        ({"If-Match": "other"}, 412),
        ({"If-Unmodified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}, 412),
    ]:
        response = await box.call("GET", "box/big", headers=headers)
        assert response.status == status, headers
        assert DATA[:64] not in await response.read()  # none of the object's bytes
        if status == 304:
            assert response.headers["Etag"] == MD5


async def test_a_static_large_object_of_big_segments(
    box: Swift,
    object_backend: str,
    sendfile_calls: list[int],  # noqa: F811
) -> None:
    half = len(DATA) // 2
    segments = [DATA[:half], DATA[half:]]
    manifest = []
    for i, segment in enumerate(segments):
        put = await box.call("PUT", f"box/seg/{i}", body=io.BytesIO(segment))
        assert put.status == 201
        etag = hashlib.md5(segment).hexdigest()
        manifest.append({"path": f"/box/seg/{i}", "etag": etag, "size_bytes": len(segment)})
    put = await box.call(
        "PUT", "box/slo", body=msgspec.json.encode(manifest), params={"multipart-manifest": "put"}
    )
    assert put.status == 201, await put.text()
    whole = await box.call("GET", "box/slo")
    assert (whole.status, await whole.read()) == (200, DATA)
    across = await box.call("GET", "box/slo", headers={"Range": f"bytes={half - MiB}-{half + MiB}"})
    assert (across.status, await across.read()) == (206, DATA[half - MiB : half + MiB + 1])
    assert by_sendfile(object_backend, sendfile_calls)
