"""The `ObjectBackend` seam: where image and object bytes live, streamed in and out.

Keys are opaque strings of 1 to 1024 UTF-8 bytes that may contain `/`. Backends stream:
no operation holds a whole object in memory. Failures are typed: `ObjectNotFound`,
`RangeNotSatisfiable`, `ChecksumMismatch`, `InvalidKey`, and `BackendUnavailable` (an
outage, rendered as 503) — all `StorageError`s.
"""

from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
)
from datetime import datetime
from types import TracebackType
from typing import Literal, Protocol, Self, get_args

import msgspec

from service.errors import ServiceUnavailable

MAX_KEY_BYTES = 1024


HashName = Literal["md5", "sha256", "sha512"]
ALL_HASHES: tuple[HashName, ...] = get_args(HashName)


class Hashes(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Hex digests of an object's bytes (sha512 is Glance's `os_hash_value`); md5 always,
    the others if the put computed them."""

    md5: str
    sha256: str | None = None
    sha512: str | None = None


class StoredObject(msgspec.Struct, frozen=True, kw_only=True):
    """What a backend knows about one stored object.

    `etag` is the store's own entity tag: the md5 for objects stored in one piece, not
    for S3 multipart uploads; use `hashes.md5` for a content md5. `hashes` is always set
    by `put`; `head` and `copy` return it only if the backend kept it (see each backend).
    """

    key: str
    size: int
    etag: str
    last_modified: datetime
    hashes: Hashes | None = None


class StorageError(Exception):
    """Any failure of an object backend."""


class ObjectNotFound(StorageError):
    """No object is stored under `key`."""

    def __init__(self, key: str):
        self.key = key
        super().__init__(f"object {key!r} not found")


class RangeNotSatisfiable(StorageError):
    """The requested range starts at or beyond the end of the object (`size` bytes)."""

    def __init__(self, key: str, size: int):
        self.key = key
        self.size = size
        super().__init__(f"range not satisfiable for object {key!r} of {size} bytes")


class ChecksumMismatch(StorageError):
    """The bytes received do not have the md5 the caller expected; nothing was stored."""

    def __init__(self, key: str, expected: str, actual: str):
        self.key = key
        self.expected = expected
        self.actual = actual
        super().__init__(f"md5 of object {key!r} is {actual}, expected {expected}")


class InvalidKey(StorageError, ValueError):
    """The key is empty, too long, or cannot be stored by this backend."""


class BackendUnavailable(StorageError, ServiceUnavailable):
    """The store cannot be reached or cannot store: the API answers 503 with the message."""


def check_key(key: str) -> None:
    """Raises InvalidKey unless `key` is 1 to 1024 bytes of valid UTF-8."""
    try:
        length = len(key.encode())
    except UnicodeEncodeError as error:
        raise InvalidKey(f"object key {key!r} is not valid UTF-8") from error
    if not 0 < length <= MAX_KEY_BYTES:
        raise InvalidKey(f"object key must be 1 to {MAX_KEY_BYTES} bytes, got {length}")


def check_range(byte_range: tuple[int, int | None]) -> None:
    """Raises ValueError for a malformed range: a negative start, or an end before it."""
    start, end = byte_range
    if start < 0 or (end is not None and end < start):
        raise ValueError(f"malformed byte range {byte_range}")


def resolve_range(
    key: str, byte_range: tuple[int, int | None] | None, size: int
) -> tuple[int, int]:
    """(offset, length) of the bytes to serve; the end is clamped to the object's last byte.

    Raises ValueError for a malformed range and RangeNotSatisfiable when it starts at or
    beyond `size` (so any range of an empty object is unsatisfiable).
    """
    if byte_range is None:
        return 0, size
    check_range(byte_range)
    start, end = byte_range
    if start >= size:
        raise RangeNotSatisfiable(key, size)
    last = size - 1 if end is None else min(end, size - 1)
    return start, last - start + 1


class ObjectReader:
    """An object's bytes, or a range of them, as an async iterator of chunks.

    `info` describes the whole object; the reader yields `content_length` bytes starting
    at `offset`. Close it (`aclose` or `async with`) to release the file or connection,
    whether or not it was read to the end.

    `fileno` is set when the bytes are in a local file that the reader holds open: they
    are at `offset` in it, and a caller may send them from there (os.sendfile) instead of
    iterating. The descriptor is the reader's, valid until it is closed.
    """

    def __init__(
        self,
        info: StoredObject,
        *,
        offset: int,
        content_length: int,
        chunks: AsyncGenerator[bytes, None],
        release: Callable[[], Awaitable[None]],
        fileno: int | None = None,
    ):
        self.info = info
        self.offset = offset
        self.content_length = content_length
        self.fileno = fileno
        self._chunks = chunks
        self._release = release
        self._closed = False

    @property
    def size(self) -> int:
        """The whole object's size, whatever range is read."""
        return self.info.size

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> bytes:
        return await anext(self._chunks)

    async def aclose(self) -> None:
        """Releases the underlying file or connection; closing twice is harmless."""
        if not self._closed:
            self._closed = True
            try:
                await self._chunks.aclose()
            finally:
                await self._release()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class DirectReader(Protocol):
    """The rest of a stream, for one worker thread to read straight into its own buffers
    (see DirectStream)."""

    def readinto(self, buffer: memoryview) -> int:
        """Fills the start of `buffer` with the next bytes and returns how many (blocking);
        0 only once the stream's `size` bytes are all read. Raises ConnectionError if the
        stream ends short or was aborted."""
        ...

    def abort(self) -> None:
        """From any thread: a `readinto` under way or to come fails at once."""
        ...

    def close(self) -> None:
        """Releases the stream's source; by the thread that read, once it is done."""
        ...


class DirectStream(Protocol):
    """A stream of `size` bytes that `async for` reads as any other, or that a put may
    instead hand to a worker thread to read without the event loop (a large request body
    read from its socket): `direct()`, before iterating. Use one way or the other."""

    size: int

    def __aiter__(self) -> AsyncIterator[bytes]: ...

    def direct(self) -> DirectReader | None:
        """The rest of the stream for a worker thread, or None if it cannot be read that
        way (then iterate it)."""
        ...


class ObjectBackend(Protocol):
    """Stores objects by key; every implementation passes tests/integration/storage."""

    async def start(self) -> None:
        """Prepares the backend (client, folders, bucket); raises BackendUnavailable."""
        ...

    async def close(self) -> None:
        """Releases what `start` acquired; closing a closed backend is harmless."""
        ...

    async def put(
        self,
        key: str,
        stream: AsyncIterable[bytes],
        *,
        size_hint: int | None = None,
        expected_md5: str | None = None,
        hashes: Collection[HashName] = ALL_HASHES,
    ) -> StoredObject:
        """Stores the stream's bytes under `key`, replacing any object there, and returns
        its size and hashes, computed on the way: the md5 and whichever others `hashes`
        names (each costs CPU on every byte; ask only for those the caller keeps). A
        backend may read a DirectStream directly from worker threads.

        All or nothing: if the md5 differs from `expected_md5` (ChecksumMismatch), the
        stream raises (its exception propagates) or the store fails (BackendUnavailable),
        the previous object under `key`, if any, is left as it was and no partial bytes
        remain. `size_hint` is only a hint for choosing how to upload.
        """
        ...

    async def get(
        self, key: str, *, byte_range: tuple[int, int | None] | None = None
    ) -> ObjectReader:
        """A reader of the object's bytes, or of `byte_range` (first and last byte, both
        inclusive as in HTTP; a last of None or past the end means to the end).

        Raises ObjectNotFound, RangeNotSatisfiable (start at or past the end), ValueError
        (malformed range) or BackendUnavailable.
        """
        ...

    async def head(self, key: str) -> StoredObject | None:
        """What is stored under `key`, or None if nothing is."""
        ...

    async def delete(self, key: str) -> bool:
        """Removes the object; returns whether it existed (a missing key is no error)."""
        ...

    def list(self, prefix: str = "") -> AsyncIterator[str]:
        """The keys starting with `prefix`, in lexical (UTF-8 byte) order."""
        ...

    async def copy(self, src: str, dst: str) -> StoredObject:
        """Stores a copy of `src` under `dst` without streaming it through the caller;
        raises ObjectNotFound if `src` is missing."""
        ...

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
