"""Hashing an incoming stream on the way through, in blocks, without copying it.

Hashing is what a large put spends its CPU on (sha512, md5 and sha256 of 1 GiB cost
about 6 s of one core here, a file write of it under 1 s), so the digests of a block run
in parallel worker threads (hashlib releases the GIL for buffers over 2 KiB) while the
caller stores that block and the next one is read: `hashed_blocks` yields a block as soon
as its hashing has started and waits for it only before it starts on the next block, so
at most two blocks are held whatever the object's size.
"""

import asyncio
import hashlib
from collections.abc import AsyncGenerator, AsyncIterable, Awaitable, Collection, Sequence

from service.storage.backend import ALL_HASHES, ChecksumMismatch, Hashes, HashName

INLINE_BYTES = 16 * 1024
"""Blocks up to this size are hashed on the event loop: a thread hand-off costs more."""

Block = Sequence[bytes]
"""Consecutive pieces of a stream, as they came (never joined, so never copied)."""


class Digest:
    """Running size and hashes (md5 always, sha256 and sha512 if asked for) of the bytes
    added so far."""

    def __init__(self, names: Collection[HashName] = ALL_HASHES) -> None:
        self.size = 0
        self._hashes = {"md5": hashlib.md5(usedforsecurity=False)} | {
            name: hashlib.new(name) for name in names if name != "md5"
        }

    def add(self, block: Block) -> Awaitable[object]:
        """Counts `block`'s bytes at once and hashes its pieces, each hash in its own
        worker thread (a small block on the spot); the future is done when all are.

        Add the next block only once that future is done: hashes see blocks in order.
        """
        size = sum(len(piece) for piece in block)
        self.size += size
        loop = asyncio.get_running_loop()
        if size > INLINE_BYTES:
            return asyncio.gather(
                *(
                    loop.run_in_executor(None, _update, hash_, block)
                    for hash_ in self._hashes.values()
                )
            )
        for hash_ in self._hashes.values():
            _update(hash_, block)
        done = loop.create_future()
        done.set_result(None)
        return done

    def hashes(self) -> Hashes:
        """The hex digests of everything added so far."""
        return Hashes(**{name: hash_.hexdigest() for name, hash_ in self._hashes.items()})

    def verify(self, key: str, expected_md5: str | None) -> Hashes:
        """The hashes, or ChecksumMismatch if the md5 is not `expected_md5` (when given)."""
        hashes = self.hashes()
        if expected_md5 is not None and expected_md5.lower() != hashes.md5:
            raise ChecksumMismatch(key, expected_md5, hashes.md5)
        return hashes


def _update(hash_: "hashlib._Hash", block: Block) -> None:
    for piece in block:
        hash_.update(piece)


async def blocks(stream: AsyncIterable[bytes], block_size: int) -> AsyncGenerator[Block, None]:
    """The stream's non-empty pieces grouped in blocks of at least `block_size` bytes (the
    last may be shorter; none is empty). A block is a list of the pieces themselves."""
    pending: list[bytes] = []
    size = 0
    async for piece in stream:
        if not piece:
            continue
        pending.append(piece)
        size += len(piece)
        if size >= block_size:
            yield pending
            pending, size = [], 0
    if pending:
        yield pending


async def hashed_blocks(
    stream: AsyncIterable[bytes], block_size: int, digest: Digest
) -> AsyncGenerator[Block, None]:
    """The stream's blocks (see `blocks`), each added to `digest` in the background while
    the caller handles it and the next block arrives; when the generator is exhausted,
    `digest` holds everything. Closed early, it leaves the digest incomplete."""
    hashing: asyncio.Future[object] | None = None
    try:
        async for block in blocks(stream, block_size):
            if hashing is not None:
                await hashing
            hashing = asyncio.ensure_future(digest.add(block))
            yield block
        if hashing is not None:
            await hashing
            hashing = None
    finally:
        if hashing is not None and not hashing.done():
            hashing.cancel()  # its threads finish their block; nobody reads the digest
