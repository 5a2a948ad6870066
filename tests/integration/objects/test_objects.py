"""Objects: streamed PUT with md5 check, GET with ranges and conditions, POST, DELETE,
server-side copies and expiry."""

import hashlib
import zlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from events.postgres import PostgresEventStore
from service.objects.expiry import reap_expired
from service.objects.policy import STORAGE_POLICIES
from service.storage.configured import OBJECTS
from tests.integration.objects.conftest import Client, ShiftedClock, Swift

DATA = b"0123456789" * 10
MD5 = hashlib.md5(DATA).hexdigest()


@pytest.fixture
async def box(swift: Swift) -> Swift:
    assert (await swift.call("PUT", "box")).status == 201
    return swift


async def test_put_then_get_and_head(box: Swift) -> None:
    put = await box.call(
        "PUT",
        "box/thing.txt",
        body=DATA,
        headers={
            "X-Object-Meta-Color": "blue",
            "Content-Disposition": "inline",
            "X-Detect-Content-Type": "true",
        },
    )
    assert put.status == 201
    assert put.headers["Etag"] == MD5
    assert "Last-Modified" in put.headers and "X-Trans-Id" in put.headers
    get = await box.call("GET", "box/thing.txt")
    assert get.status == 200
    assert await get.read() == DATA
    assert get.headers["Etag"] == MD5
    assert get.headers["Content-Type"] == "text/plain"
    assert get.headers["X-Object-Meta-Color"] == "blue"
    assert get.headers["Content-Disposition"] == "inline"
    assert get.headers["Accept-Ranges"] == "bytes"
    assert "X-Timestamp" in get.headers and "Last-Modified" in get.headers
    head = await box.call("HEAD", "box/thing.txt")
    assert head.status == 200
    assert head.headers["Content-Length"] == str(len(DATA))


async def test_etag_mismatch_is_422_and_stores_nothing(box: Swift) -> None:
    response = await box.call("PUT", "box/x", body=DATA, headers={"ETag": "0" * 32})
    assert response.status == 422
    assert (await box.call("HEAD", "box/x")).status == 404
    assert (await box.call("PUT", "box/x", body=DATA, headers={"ETag": MD5})).status == 201


async def test_an_encoded_body_is_stored_as_sent(box: Swift) -> None:
    deflated = zlib.compress(DATA * 20)
    put = await box.call("PUT", "box/z", body=deflated, headers={"Content-Encoding": "deflate"})
    assert put.status == 201
    assert put.headers["Etag"] == hashlib.md5(deflated).hexdigest()
    get = await box.call("GET", "box/z", headers={"Accept-Encoding": "deflate"})
    assert get.headers["Content-Encoding"] == "deflate"
    assert get.headers["Content-Length"] == str(len(deflated))
    assert await get.read() == DATA * 20


async def test_chunked_upload(box: Swift) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for i in range(10):
            yield DATA[i * 10 : (i + 1) * 10]

    response = await box.call("PUT", "box/chunked", body=chunks())
    assert response.status == 201
    assert response.headers["Etag"] == MD5
    assert await (await box.call("GET", "box/chunked")).read() == DATA


async def test_overwrite_keeps_counters_exact(box: Swift) -> None:
    await box.call("PUT", "box/o", body=b"12345")
    await box.call("PUT", "box/o", body=b"12")
    head = await box.call("HEAD", "box")
    assert head.headers["X-Container-Object-Count"] == "1"
    assert head.headers["X-Container-Bytes-Used"] == "2"
    assert await (await box.call("GET", "box/o")).read() == b"12"


async def test_ranges(box: Swift) -> None:
    await box.call("PUT", "box/r", body=DATA)
    one = await box.call("GET", "box/r", headers={"Range": "bytes=10-19"})
    assert one.status == 206
    assert await one.read() == DATA[10:20]
    assert one.headers["Content-Range"] == f"bytes 10-19/{len(DATA)}"
    suffix = await box.call("GET", "box/r", headers={"Range": "bytes=-5"})
    assert await suffix.read() == DATA[-5:]
    many = await box.call("GET", "box/r", headers={"Range": "bytes=0-1,5-6"})
    assert many.status == 206
    assert many.headers["Content-Type"].startswith("multipart/byteranges")
    body = await many.read()
    assert b"Content-Range: bytes 0-1/100" in body and b"\r\n\r\n56\r\n" in body
    assert int(many.headers["Content-Length"]) == len(body)
    bad = await box.call("GET", "box/r", headers={"Range": "bytes=500-"})
    assert bad.status == 416
    assert bad.headers["Content-Range"] == "bytes */100"


async def test_conditional_requests(box: Swift) -> None:
    put = await box.call("PUT", "box/c", body=DATA)
    modified = put.headers["Last-Modified"]
    assert (await box.call("GET", "box/c", headers={"If-None-Match": MD5})).status == 304
    assert (await box.call("GET", "box/c", headers={"If-None-Match": "other"})).status == 200
    assert (await box.call("GET", "box/c", headers={"If-Match": "other"})).status == 412
    assert (await box.call("GET", "box/c", headers={"If-Match": f'"{MD5}"'})).status == 200
    assert (await box.call("GET", "box/c", headers={"If-Modified-Since": modified})).status == 304
    past = format_datetime(datetime.now(UTC) - timedelta(days=1), usegmt=True)
    assert (await box.call("GET", "box/c", headers={"If-Unmodified-Since": past})).status == 412
    again = await box.call("PUT", "box/c", body=DATA, headers={"If-None-Match": "*"})
    assert again.status == 412


async def test_post_replaces_metadata(box: Swift) -> None:
    await box.call("PUT", "box/m", body=DATA, headers={"X-Object-Meta-A": "1"})
    response = await box.call(
        "POST", "box/m", headers={"X-Object-Meta-B": "2", "Content-Type": "text/csv"}
    )
    assert response.status == 202
    head = await box.call("HEAD", "box/m")
    assert "X-Object-Meta-A" not in head.headers
    assert head.headers["X-Object-Meta-B"] == "2"
    assert head.headers["Content-Type"] == "text/csv"


async def test_copy_with_x_copy_from_and_copy_method(box: Swift) -> None:
    await box.call("PUT", "other")
    await box.call("PUT", "box/src", body=DATA, headers={"X-Object-Meta-K": "v"})
    put = await box.call("PUT", "other/dst", body=b"", headers={"X-Copy-From": "box/src"})
    assert put.status == 201
    assert put.headers["X-Copied-From"] == "box/src"
    assert "X-Copied-From-Last-Modified" in put.headers
    get = await box.call("GET", "other/dst")
    assert await get.read() == DATA
    assert get.headers["X-Object-Meta-K"] == "v"
    copy = await box.call(
        "COPY", "box/src", headers={"Destination": "box/dst2", "X-Object-Meta-K": "w"}
    )
    assert copy.status == 201
    assert copy.headers["Etag"] == MD5
    head = await box.call("HEAD", "box/dst2")
    assert head.headers["X-Object-Meta-K"] == "w"
    itself = await box.call(
        "PUT",
        "box/src",
        body=b"",
        headers={"X-Copy-From": "box/src", "Content-Type": "text/plain; charset=UTF-8"},
    )
    assert itself.status == 201
    head = await box.call("HEAD", "box/src")
    assert head.headers["Content-Type"] == "text/plain; charset=UTF-8"
    assert await (await box.call("GET", "box/src")).read() == DATA


async def test_copy_answers_with_the_merged_metadata(box: Swift) -> None:
    await box.call("PUT", "box/src", body=DATA, headers={"X-Object-Meta-Src": "s"})
    copy = await box.call(
        "COPY",
        "box/src",
        headers={"Destination": "box/dst", "X-Object-Meta-New": "n", "X-Object-Meta-Empty": ""},
    )
    assert copy.status == 201
    assert copy.headers["X-Object-Meta-Src"] == "s"
    assert copy.headers["X-Object-Meta-New"] == "n"
    assert copy.headers["X-Object-Meta-Empty"] == ""
    assert copy.headers["X-Copied-From-Account"] == f"AUTH_{box.project_id}"
    head = await box.call("HEAD", "box/dst")
    assert (head.headers["X-Object-Meta-Src"], head.headers["X-Object-Meta-New"]) == ("s", "n")
    fresh = await box.call(
        "PUT",
        "box/fresh",
        body=b"",
        headers={"X-Copy-From": "box/src", "X-Fresh-Metadata": "true", "X-Object-Meta-N": "1"},
    )
    assert fresh.status == 201
    assert "X-Object-Meta-Src" not in fresh.headers
    assert fresh.headers["X-Object-Meta-N"] == "1"


async def test_an_object_keeps_metadata_with_an_empty_value(box: Swift) -> None:
    put = await box.call("PUT", "box/e", body=DATA, headers={"X-Object-Meta-Blank": ""})
    assert put.status == 201
    assert (await box.call("HEAD", "box/e")).headers["X-Object-Meta-Blank"] == ""
    await box.call("POST", "box/e", headers={"X-Object-Meta-Other": ""})
    head = await box.call("HEAD", "box/e")
    assert head.headers["X-Object-Meta-Other"] == ""
    assert "X-Object-Meta-Blank" not in head.headers
    await box.call("POST", "box", headers={"X-Container-Meta-Gone": ""})
    assert "X-Container-Meta-Gone" not in (await box.call("HEAD", "box")).headers


async def test_expired_object_is_gone_at_once_then_reaped(
    box: Swift, clock: ShiftedClock, store: PostgresEventStore, client: Client
) -> None:
    await box.call("PUT", "box/e", body=DATA, headers={"X-Delete-After": "10"})
    head = await box.call("HEAD", "box/e")
    assert abs(int(head.headers["X-Delete-At"]) - (clock.now().timestamp() + 10)) <= 1
    clock.shift = timedelta(seconds=11)
    assert (await box.call("GET", "box/e")).status == 404
    assert await box.json("box") == []
    assert (await box.call("HEAD", "box")).headers["X-Container-Object-Count"] == "1"
    backend = client.app[OBJECTS]
    assert await reap_expired(store, client.app[STORAGE_POLICIES], clock.now().timestamp()) == 1
    assert (await box.call("HEAD", "box")).headers["X-Container-Object-Count"] == "0"
    assert [key async for key in backend.list("objects/")] == []


async def test_container_with_only_expired_objects_can_be_deleted(
    box: Swift, clock: ShiftedClock
) -> None:
    await box.call("PUT", "box/e", body=DATA, headers={"X-Delete-After": "10"})
    clock.shift = timedelta(seconds=11)
    assert (await box.call("DELETE", "box")).status == 204


async def test_delete_at_in_the_past_is_400(box: Swift) -> None:
    response = await box.call("PUT", "box/p", body=DATA, headers={"X-Delete-At": "1000"})
    assert response.status == 400


async def test_missing_container_and_object(box: Swift) -> None:
    assert (await box.call("PUT", "nobox/x", body=DATA)).status == 404
    assert (await box.call("GET", "box/none")).status == 404
    assert (await box.call("DELETE", "box/none")).status == 404
