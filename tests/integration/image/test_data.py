"""Image data: upload streamed into the object backend and download streamed out, with
hashes, byte ranges, the one-upload-at-a-time rule and interrupted uploads — on the
local backend and on S3 (a moto server)."""

import asyncio
import hashlib
import io
import secrets
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import msgspec
import pytest

from service.config import Settings
from service.storage import ObjectBackend

from .conftest import Images

DATA = secrets.token_bytes(3 * 1024 * 1024 + 17)


@pytest.fixture(params=["local", "s3"])
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """The identity app's settings, on each object backend."""
    if request.param == "local":
        return settings
    return msgspec.structs.replace(
        settings,
        object_backend="s3",
        s3_bucket=f"kumo-images-{secrets.token_hex(6)}",
        s3_endpoint_url=request.getfixturevalue("moto_url"),
        s3_access_key_id="testing",
        s3_secret_access_key="testing",
    )


async def keys(objects: ObjectBackend) -> list[str]:
    return [key async for key in objects.list("images/")]


async def test_upload_then_download(as_alice: Images, objects: ObjectBackend) -> None:
    image_id = (await as_alice.create(disk_format="raw", container_format="bare"))["id"]
    empty = await as_alice.call("GET", f"images/{image_id}/file")
    assert (empty.status, empty.raw) == (204, b"")
    reply = await as_alice.upload(image_id, io.BytesIO(DATA))
    assert reply.status == 204, reply.body
    image = await as_alice.show(image_id)
    assert image["status"] == "active"
    assert image["size"] == len(DATA)
    assert image["checksum"] == hashlib.md5(DATA).hexdigest()
    assert image["os_hash_algo"] == "sha512"
    assert image["os_hash_value"] == hashlib.sha512(DATA).hexdigest()
    assert await keys(objects) == [f"images/{image_id}"]
    download = await as_alice.call("GET", f"images/{image_id}/file")
    assert download.status == 200
    assert download.raw == DATA
    assert download.headers["Content-MD5"] == image["checksum"]
    assert download.headers["Content-Type"] == "application/octet-stream"
    assert int(download.headers["Content-Length"]) == len(DATA)


async def test_a_large_upload_with_a_length(
    as_alice: Images, objects: ObjectBackend, settings: Settings
) -> None:
    """Read from the socket by worker threads on the local backend (the connection then
    closes after the reply, which says so), iterated on S3; either way the same image."""
    data = secrets.token_bytes(9 * 1024 * 1024 + 5)
    image_id = (await as_alice.create())["id"]
    reply = await as_alice.upload(image_id, io.BytesIO(data))  # with its Content-Length
    assert reply.status == 204, reply.body
    closes = settings.object_backend == "local"
    assert (reply.headers.get("Connection", "").lower() == "close") == closes
    image = await as_alice.show(image_id)  # on a new connection, if the last one closed
    assert (image["status"], image["size"]) == ("active", len(data))
    assert image["checksum"] == hashlib.md5(data).hexdigest()
    assert image["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert (await as_alice.call("GET", f"images/{image_id}/file")).raw == data
    assert await keys(objects) == [f"images/{image_id}"]


async def test_a_large_upload_cut_short_leaves_the_image_queued_without_bytes(
    as_alice: Images, objects: ObjectBackend, settings: Settings
) -> None:
    image_id = (await as_alice.create())["id"]
    host, port = as_alice.client.host, as_alice.client.port
    _, writer = await asyncio.open_connection(host, port)
    head = (
        f"PUT /image/v2/images/{image_id}/file HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"X-Auth-Token: {as_alice.token}\r\nContent-Type: application/octet-stream\r\n"
        f"Content-Length: {20 * 1024 * 1024}\r\n\r\n"
    )
    writer.write(head.encode() + DATA * 2)  # 6 MiB of the 20
    await writer.drain()
    await wait_for_status(as_alice, image_id, "saving")
    assert (await as_alice.upload(image_id, b"other")).status == 409
    writer.close()
    await writer.wait_closed()
    await wait_for_status(as_alice, image_id, "queued")
    assert await keys(objects) == []
    assert list((settings.data_dir / "objects").rglob("~tmp-*")) == []
    assert (await as_alice.upload(image_id, io.BytesIO(DATA))).status == 204  # a retry
    assert (await as_alice.show(image_id))["size"] == len(DATA)


async def test_ranges(as_alice: Images) -> None:
    image_id = (await as_alice.create())["id"]
    await as_alice.upload(image_id, io.BytesIO(DATA))
    size = len(DATA)
    for header, first, last in [
        ("bytes=2-5", 2, 5),
        ("bytes=1048570-", 1048570, size - 1),
        ("bytes=-10", size - 10, size - 1),
        (f"bytes=5-{size + 100}", 5, size - 1),
    ]:
        reply = await as_alice.call("GET", f"images/{image_id}/file", headers={"Range": header})
        assert reply.status == 206, header
        assert reply.raw == DATA[first : last + 1], header
        assert reply.headers["Content-Range"] == f"bytes {first}-{last}/{size}"
        assert "Content-MD5" not in reply.headers
    for header in (f"bytes={size}-", "bytes=5-2", "bytes=0-1,4-5", "lines=1-2"):
        reply = await as_alice.call("GET", f"images/{image_id}/file", headers={"Range": header})
        assert reply.status == 416, header
        assert reply.headers["Content-Range"] == f"bytes */{size}"


async def test_an_image_takes_data_once(as_alice: Images) -> None:
    image_id = (await as_alice.create())["id"]
    assert (await as_alice.upload(image_id, b"first")).status == 204
    assert (await as_alice.upload(image_id, b"second")).status == 409
    assert (await as_alice.call("GET", f"images/{image_id}/file")).raw == b"first"
    wrong = await as_alice.call("PUT", f"images/{image_id}/file", data=b"x",
                                headers={"Content-Type": "text/plain"})  # fmt: skip
    assert wrong.status == 415


async def test_a_second_upload_meanwhile_is_a_conflict(
    as_alice: Images, objects: ObjectBackend
) -> None:
    image_id = (await as_alice.create())["id"]
    release = asyncio.Event()

    async def slow() -> AsyncIterator[bytes]:
        yield b"a" * 1000
        await release.wait()
        yield b"b" * 1000

    first = asyncio.create_task(as_alice.upload(image_id, slow()))
    await wait_for_status(as_alice, image_id, "saving")
    second = await as_alice.upload(image_id, b"other")
    assert second.status == 409
    release.set()
    assert (await first).status == 204
    image = await as_alice.show(image_id)
    assert (image["status"], image["size"]) == ("active", 2000)
    assert (await as_alice.call("GET", f"images/{image_id}/file")).raw == b"a" * 1000 + b"b" * 1000


async def test_an_interrupted_upload_leaves_the_image_queued_without_bytes(
    as_alice: Images, objects: ObjectBackend
) -> None:
    image_id = (await as_alice.create())["id"]

    async def broken() -> AsyncIterator[bytes]:
        yield b"a" * 100_000
        await asyncio.sleep(0.2)
        raise ConnectionAbortedError("the client went away")

    with pytest.raises(aiohttp.ClientOSError):
        await as_alice.upload(image_id, broken())
    await wait_for_status(as_alice, image_id, "queued")
    assert await keys(objects) == []
    assert (await as_alice.call("GET", f"images/{image_id}/file")).status == 204
    assert (await as_alice.upload(image_id, b"again")).status == 204  # it may be retried
    assert (await as_alice.show(image_id))["size"] == 5


async def test_deleting_an_image_deletes_its_data(as_alice: Images, objects: ObjectBackend) -> None:
    image_id = (await as_alice.create())["id"]
    await as_alice.upload(image_id, b"bytes")
    assert await keys(objects) == [f"images/{image_id}"]
    assert (await as_alice.call("DELETE", f"images/{image_id}")).status == 204
    assert await keys(objects) == []


async def test_a_backend_outage_is_a_503(as_alice: Images, settings: Settings) -> None:
    if settings.object_backend != "local":
        pytest.skip("the local backend's folder is what this test breaks")
    image_id = (await as_alice.create())["id"]
    await asyncio.to_thread(put_a_file_in_place_of, settings.data_dir / "objects")
    reply = await as_alice.upload(image_id, b"bytes")
    assert reply.status == 503, reply.body
    assert (await as_alice.show(image_id))["status"] == "queued"


def put_a_file_in_place_of(folder: Path) -> None:
    """Replace the folder by a file, so that every write under it fails."""
    shutil.rmtree(folder)
    folder.write_bytes(b"")


async def wait_for_status(images: Images, image_id: str, status: str) -> None:
    """Poll until the image reaches `status` (the server finishes after the client)."""
    for _ in range(200):
        if (await images.show(image_id))["status"] == status:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"image {image_id} never became {status}")


async def test_without_stores_configured_the_object_backend_is_the_one_store(
    as_alice: Images,
) -> None:
    listed = await as_alice.call("GET", "info/stores")
    assert listed.body == {"stores": [{"id": "default", "default": "true"}]}
    image_id = (await as_alice.create(disk_format="raw", container_format="bare"))["id"]
    assert "stores" not in await as_alice.show(image_id)
    assert (await as_alice.upload(image_id, b"bytes")).status == 204
    assert (await as_alice.show(image_id))["stores"] == "default"
