"""Streams, readers and leftovers for the storage tests."""

import hashlib
from collections.abc import AsyncIterator

from service.storage import Hashes, ObjectBackend, ObjectReader
from service.storage.localfs import LocalFsBackend
from service.storage.s3 import S3Backend


class Disconnected(Exception):
    """What a client that goes away mid-upload makes the stream raise."""


async def chunks(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def broken(data: bytes) -> AsyncIterator[bytes]:
    """`data`, then the client disconnects."""
    async for chunk in chunks(data):
        yield chunk
    raise Disconnected


async def read_all(reader: ObjectReader) -> bytes:
    async with reader:
        return b"".join([chunk async for chunk in reader])


def hashes_of(data: bytes) -> Hashes:
    return Hashes(
        md5=hashlib.md5(data).hexdigest(),
        sha256=hashlib.sha256(data).hexdigest(),
        sha512=hashlib.sha512(data).hexdigest(),
    )


async def leftovers(backend: ObjectBackend) -> list[str]:
    """What a failed put may have left: temp files, or incomplete multipart uploads."""
    if isinstance(backend, LocalFsBackend):
        return [str(path) for path in backend.root.rglob("~tmp-*")]
    assert isinstance(backend, S3Backend)
    return [key async for key in backend.incomplete_uploads()]
