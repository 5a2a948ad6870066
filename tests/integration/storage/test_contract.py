"""The ObjectBackend contract: every test runs against localfs and against S3 (moto)."""

import asyncio
import os
from collections.abc import AsyncIterator

import pytest

from service.storage import (
    ChecksumMismatch,
    Hashes,
    InvalidKey,
    ObjectBackend,
    ObjectNotFound,
    RangeNotSatisfiable,
)
from service.storage.s3 import MiB

from .helpers import Disconnected, SocketStream, broken, chunks, hashes_of, leftovers, read_all

SIZES = {"empty": 0, "small": 1000, "multipart": 6 * MiB + 123}
LARGE = os.urandom(SIZES["multipart"])
DATA = {name: LARGE[:size] for name, size in SIZES.items()}


@pytest.mark.parametrize("size", SIZES)
async def test_round_trip(backend: ObjectBackend, size: str) -> None:
    data = DATA[size]
    stored = await backend.put("images/one", chunks(data))
    assert (stored.key, stored.size, stored.hashes) == ("images/one", len(data), hashes_of(data))

    reader = await backend.get("images/one")
    assert (reader.size, reader.offset, reader.content_length) == (len(data), 0, len(data))
    assert await read_all(reader) == data
    info = await backend.head("images/one")
    assert info is not None
    assert (info.size, info.etag) == (len(data), stored.etag)
    assert info.hashes in (None, stored.hashes)  # an S3 multipart object keeps none


async def test_head_keeps_the_hashes_of_a_small_object(backend: ObjectBackend) -> None:
    stored = await backend.put("k", chunks(DATA["small"]))
    info = await backend.head("k")
    assert info is not None
    assert info.hashes == stored.hashes == hashes_of(DATA["small"])
    assert info.etag == hashes_of(DATA["small"]).md5
    assert abs((info.last_modified - stored.last_modified).total_seconds()) < 2


async def test_the_stream_may_come_in_any_chunks(backend: ObjectBackend) -> None:
    data = DATA["multipart"]
    stored = await backend.put("k", chunks(data, 3 * MiB + 1))
    assert stored.hashes == hashes_of(data)
    assert await read_all(await backend.get("k")) == data


@pytest.mark.parametrize("size", ["small", "multipart"])
async def test_a_put_computes_the_md5_and_only_the_hashes_asked_for(
    backend: ObjectBackend, size: str
) -> None:
    data = DATA[size]
    every = hashes_of(data)
    stored = await backend.put("md5", chunks(data), hashes=("md5",))
    assert stored.hashes == Hashes(md5=every.md5)
    stored = await backend.put("sha512", chunks(data, 1000), hashes=("sha512",))
    assert stored.hashes == Hashes(md5=every.md5, sha512=every.sha512)
    info = await backend.head("sha512")
    assert info is not None and info.hashes in (None, stored.hashes)


@pytest.mark.parametrize("size", ["small", "multipart"])
async def test_the_expected_md5_is_checked(backend: ObjectBackend, size: str) -> None:
    data = DATA[size]
    md5 = hashes_of(data).md5
    with pytest.raises(ChecksumMismatch) as raised:
        await backend.put("k", chunks(data), expected_md5="0" * 32)
    assert (raised.value.expected, raised.value.actual) == ("0" * 32, md5)
    assert await backend.head("k") is None
    assert await leftovers(backend) == []

    stored = await backend.put("k", chunks(data), expected_md5=md5.upper())
    assert stored.size == len(data)


@pytest.mark.parametrize("size", ["small", "multipart"])
async def test_a_broken_stream_leaves_nothing(backend: ObjectBackend, size: str) -> None:
    with pytest.raises(Disconnected):
        await backend.put("k", broken(DATA[size]))
    assert await backend.head("k") is None
    assert [key async for key in backend.list()] == []
    assert await leftovers(backend) == []


@pytest.mark.parametrize("data", [DATA["small"], DATA["multipart"] * 2], ids=["small", "multipart"])
async def test_a_cancelled_put_leaves_nothing(backend: ObjectBackend, data: bytes) -> None:
    """The request handler is cancelled when the client goes away mid-upload."""
    drained = asyncio.Event()

    async def stalled() -> AsyncIterator[bytes]:
        async for chunk in chunks(data):
            yield chunk
        drained.set()  # every part so far is stored; the rest never comes
        await asyncio.Event().wait()

    upload = asyncio.create_task(backend.put("k", stalled()))
    await drained.wait()
    upload.cancel()
    with pytest.raises(asyncio.CancelledError):
        await upload
    assert await backend.head("k") is None
    assert await leftovers(backend) == []


async def test_a_direct_stream(backend: ObjectBackend) -> None:
    """A request body that the backend may read from its socket in worker threads (the
    local one does; S3 iterates it)."""
    data = DATA["multipart"] * 2
    stream = SocketStream(data)
    try:
        stored = await backend.put("k", stream, hashes=("md5", "sha512"))
    finally:
        stream.close()
    every = hashes_of(data)
    assert (stored.size, stored.hashes) == (len(data), Hashes(md5=every.md5, sha512=every.sha512))
    assert await read_all(await backend.get("k")) == data
    assert await leftovers(backend) == []


async def test_a_direct_stream_cut_short_leaves_nothing(backend: ObjectBackend) -> None:
    stream = SocketStream(DATA["multipart"] * 2, sent=9 * MiB)
    try:
        with pytest.raises((ConnectionResetError, Disconnected)):
            await backend.put("k", stream)
    finally:
        stream.close()
    assert await backend.head("k") is None
    assert await leftovers(backend) == []


async def test_a_cancelled_direct_put_leaves_nothing(backend: ObjectBackend) -> None:
    stream = SocketStream(DATA["multipart"] * 2, sent=9 * MiB, stalls=True)
    upload = asyncio.create_task(backend.put("k", stream))
    try:
        await asyncio.sleep(0.5)  # the 9 MiB are read and stored; the rest never comes
        upload.cancel()
        with pytest.raises(asyncio.CancelledError):
            await upload
    finally:
        stream.close()
    assert await backend.head("k") is None
    assert await leftovers(backend) == []


async def test_a_broken_stream_keeps_the_previous_object(backend: ObjectBackend) -> None:
    await backend.put("k", chunks(b"before"))
    with pytest.raises(Disconnected):
        await backend.put("k", broken(DATA["multipart"]))
    assert await read_all(await backend.get("k")) == b"before"
    assert await leftovers(backend) == []


async def test_overwriting_replaces_the_object(backend: ObjectBackend) -> None:
    await backend.put("k", chunks(DATA["multipart"]))
    stored = await backend.put("k", chunks(b"after"))
    assert stored.size == 5
    assert await read_all(await backend.get("k")) == b"after"
    info = await backend.head("k")
    assert info is not None and info.size == 5


@pytest.mark.parametrize(
    ("byte_range", "offset", "length"),
    [
        ((0, 0), 0, 1),
        ((10, 19), 10, 10),
        ((990, None), 990, 10),
        ((0, None), 0, 1000),
        ((500, 5000), 500, 500),  # the end is clamped, as HTTP does
        ((999, 999), 999, 1),
    ],
)
async def test_ranged_reads(
    backend: ObjectBackend, byte_range: tuple[int, int | None], offset: int, length: int
) -> None:
    data = DATA["small"]
    await backend.put("k", chunks(data))
    reader = await backend.get("k", byte_range=byte_range)
    assert (reader.size, reader.offset, reader.content_length) == (1000, offset, length)
    assert await read_all(reader) == data[offset : offset + length]


async def test_ranged_read_across_parts(backend: ObjectBackend) -> None:
    data = DATA["multipart"]
    await backend.put("k", chunks(data))
    first, last = 5 * MiB - 10, 5 * MiB + 9
    reader = await backend.get("k", byte_range=(first, last))
    assert await read_all(reader) == data[first : last + 1]


@pytest.mark.parametrize(
    ("size", "byte_range"),
    [
        ("small", (1000, None)),
        ("small", (1000, 2000)),
        ("small", (5000, None)),
        ("empty", (0, None)),
    ],
)
async def test_unsatisfiable_ranges(
    backend: ObjectBackend, size: str, byte_range: tuple[int, int | None]
) -> None:
    await backend.put("k", chunks(DATA[size]))
    with pytest.raises(RangeNotSatisfiable) as raised:
        await backend.get("k", byte_range=byte_range)
    assert raised.value.size == SIZES[size]


@pytest.mark.parametrize("byte_range", [(-1, None), (10, 9)])
async def test_malformed_ranges(backend: ObjectBackend, byte_range: tuple[int, int | None]) -> None:
    await backend.put("k", chunks(DATA["small"]))
    with pytest.raises(ValueError, match="malformed"):
        await backend.get("k", byte_range=byte_range)


async def test_a_reader_may_be_closed_unread_or_half_read(backend: ObjectBackend) -> None:
    await backend.put("k", chunks(DATA["multipart"]))
    unread = await backend.get("k")
    await unread.aclose()
    await unread.aclose()
    async with await backend.get("k") as half_read:
        assert len(await anext(half_read)) > 0
    assert await backend.delete("k")


async def test_missing_keys(backend: ObjectBackend) -> None:
    with pytest.raises(ObjectNotFound) as raised:
        await backend.get("images/missing")
    assert raised.value.key == "images/missing"
    with pytest.raises(ObjectNotFound):
        await backend.get("images/missing", byte_range=(0, 10))
    with pytest.raises(ObjectNotFound):
        await backend.copy("images/missing", "images/other")
    assert await backend.head("images/missing") is None
    assert await backend.delete("images/missing") is False


async def test_delete_says_whether_the_object_existed(backend: ObjectBackend) -> None:
    await backend.put("a/b", chunks(b"x"))
    assert await backend.delete("a/b") is True
    assert await backend.head("a/b") is None
    assert await backend.delete("a/b") is False
    assert [key async for key in backend.list()] == []


KEYS = ["images/2", "a-c", "a/b/c", "dir/", "images/10", "a", "b", "images/1", "a/b", "x.y", "ü/é"]
KEYS += ["a/b/", "a/b0", "a/b/c/d", "a/b/c/"]


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("", sorted(KEYS)),
        ("a", ["a", "a-c", "a/b", "a/b/", "a/b/c", "a/b/c/", "a/b/c/d", "a/b0"]),
        ("a/", ["a/b", "a/b/", "a/b/c", "a/b/c/", "a/b/c/d", "a/b0"]),
        ("a/b", ["a/b", "a/b/", "a/b/c", "a/b/c/", "a/b/c/d", "a/b0"]),
        ("a/b/", ["a/b/", "a/b/c", "a/b/c/", "a/b/c/d"]),
        ("a/b/c/", ["a/b/c/", "a/b/c/d"]),
        ("images/1", ["images/1", "images/10"]),
        ("dir", ["dir/"]),
        ("ü", ["ü/é"]),
        ("nothing/", []),
        ("z", []),
    ],
)
async def test_list_by_prefix_in_lexical_order(
    backend: ObjectBackend, prefix: str, expected: list[str]
) -> None:
    for key in KEYS:
        await backend.put(key, chunks(key.encode()))
    assert [key async for key in backend.list(prefix)] == expected


@pytest.mark.parametrize("size", SIZES)
async def test_copy(backend: ObjectBackend, size: str) -> None:
    data = DATA[size]
    stored = await backend.put("src", chunks(data))
    await backend.put("dst", chunks(b"old"))
    copied = await backend.copy("src", "dst")
    assert (copied.key, copied.size) == ("dst", len(data))
    assert copied.hashes in (None, stored.hashes)
    assert await read_all(await backend.get("dst")) == data
    assert await read_all(await backend.get("src")) == data


ODD_KEYS = ["..", "../escape", "a/../../b", "./x", "/abs", "a//b", "~tmp-x", "%2F", "a/.o", "?#*"]


@pytest.mark.parametrize("key", ODD_KEYS)
async def test_odd_keys_are_plain_keys(backend: ObjectBackend, key: str) -> None:
    await backend.put(key, chunks(b"odd"))
    assert await read_all(await backend.get(key)) == b"odd"
    assert [listed async for listed in backend.list()] == [key]
    assert await backend.delete(key)


@pytest.mark.parametrize("key", ["", "k" * 1025, "\udc80"])
async def test_invalid_keys(backend: ObjectBackend, key: str) -> None:
    with pytest.raises(InvalidKey):
        await backend.put(key, chunks(b"x"))
    with pytest.raises(InvalidKey):
        await backend.head(key)
