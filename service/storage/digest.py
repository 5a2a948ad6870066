"""Hashing an incoming stream on the way through, in fixed-size blocks."""

import asyncio
import hashlib
from collections.abc import AsyncGenerator, AsyncIterable

from service.storage.backend import ChecksumMismatch, Hashes


class Digest:
    """Running size, md5, sha256 and sha512 of the bytes seen so far."""

    def __init__(self) -> None:
        self.size = 0
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._sha256 = hashlib.sha256()
        self._sha512 = hashlib.sha512()

    def update(self, block: bytes) -> None:
        """Adds `block`; hashlib releases the GIL, so call it in a worker thread."""
        self.size += len(block)
        self._md5.update(block)
        self._sha256.update(block)
        self._sha512.update(block)

    def hashes(self) -> Hashes:
        """The hex digests of everything added so far."""
        return Hashes(
            md5=self._md5.hexdigest(),
            sha256=self._sha256.hexdigest(),
            sha512=self._sha512.hexdigest(),
        )

    def verify(self, key: str, expected_md5: str | None) -> Hashes:
        """The hashes, or ChecksumMismatch if the md5 is not `expected_md5` (when given)."""
        hashes = self.hashes()
        if expected_md5 is not None and expected_md5.lower() != hashes.md5:
            raise ChecksumMismatch(key, expected_md5, hashes.md5)
        return hashes


async def hashed_blocks(
    stream: AsyncIterable[bytes], block_size: int, digest: Digest
) -> AsyncGenerator[bytes, None]:
    """The stream's bytes in blocks of `block_size` (the last may be shorter, none empty),
    each added to `digest` off the event loop before it is yielded.

    Each byte is copied once, when its block is joined, so a block costs its own size
    and the stream's chunks it is made of.
    """
    pending: list[memoryview] = []
    size = 0
    async for chunk in stream:
        rest = memoryview(chunk)
        while size + len(rest) >= block_size:
            take = block_size - size
            pending.append(rest[:take])
            rest = rest[take:]
            block = b"".join(pending)
            pending.clear()
            size = 0
            yield await _added(digest, block)
        if rest:
            pending.append(rest)
            size += len(rest)
    if pending:
        yield await _added(digest, b"".join(pending))


async def _added(digest: Digest, block: bytes) -> bytes:
    await asyncio.to_thread(digest.update, block)
    return block
