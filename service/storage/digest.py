"""Hashing an incoming stream on the way through, in blocks, without copying it.

Hashing is what a large put spends its CPU on (sha512, md5 and sha256 of 1 GiB cost
about 6 s of one core here, a file write of it under 1 s), so the digests of a block run
in parallel worker threads (hashlib releases the GIL for buffers over 2 KiB) while the
caller stores that block and the next one is read: `hashed_blocks` yields a block as soon
as its hashing has started and waits for it only before it starts on the next block, so
at most two blocks are held whatever the object's size.

A stream that worker threads can read themselves (a DirectStream: a large request body
read from its socket) goes through `Digest.read_through` instead: one thread reads it into
a ring of buffers of its own and stores each, while each hash runs over the same buffers
in a thread of its own, without the event loop or a copy between them.
"""

import asyncio
import hashlib
import threading
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    Awaitable,
    Callable,
    Collection,
    Sequence,
)

from service.storage.backend import ALL_HASHES, ChecksumMismatch, Hashes, HashName

INLINE_BYTES = 16 * 1024
"""Blocks up to this size are hashed on the event loop: a thread hand-off costs more."""

SLOT_BYTES = 4 * 1024 * 1024
SLOTS = 4
"""`read_through`'s ring: the bytes it holds whatever the size (16 MiB)."""

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

    def read_through(
        self,
        read: Callable[[memoryview], int],
        size: int,
        store: Callable[[memoryview], object],
    ) -> None:
        """Adds `size` bytes that `read` (a DirectReader's readinto) puts into a ring of
        SLOTS buffers, in the calling thread, while `store` and each hash take each full
        buffer in a thread of their own. Blocking.

        Raises ConnectionError if `read` gives 0 before `size` bytes, or the first error
        of `read` or `store`, once every thread has stopped (the digest is then of no use).
        """
        updates = [hash_.update for hash_ in self._hashes.values()]
        _Ring([store, *updates], size).run(read)
        self.size += size

    def hashes(self) -> Hashes:
        """The hex digests of everything added so far."""
        return Hashes(**{name: hash_.hexdigest() for name, hash_ in self._hashes.items()})

    def verify(self, key: str, expected_md5: str | None) -> Hashes:
        """The hashes, or ChecksumMismatch if the md5 is not `expected_md5` (when given)."""
        hashes = self.hashes()
        if expected_md5 is not None and expected_md5.lower() != hashes.md5:
            raise ChecksumMismatch(key, expected_md5, hashes.md5)
        return hashes


class _Ring:
    """SLOTS buffers filled in turn by one thread and handed to each consumer (a hash's
    update, the store) in a thread of the consumer's own: a buffer is filled again only
    once every consumer is done with it."""

    def __init__(self, consumers: list[Callable[[memoryview], object]], size: int):
        self._consumers = consumers
        self._size = size
        self._buffers = [memoryview(bytearray(min(SLOT_BYTES, size))) for _ in range(SLOTS)]
        self._lengths = [0] * SLOTS
        self._busy = [0] * SLOTS  # the consumers not yet done with each buffer
        self._count = -(-size // SLOT_BYTES)  # buffers to fill, one after another
        self._filled = 0
        self._error: BaseException | None = None  # the first failure, which stops all
        self._changed = threading.Condition()

    def run(self, read: Callable[[memoryview], int]) -> None:
        threads = [
            threading.Thread(target=self._consume, args=(consumer,), name="kumo-ring", daemon=True)
            for consumer in self._consumers
        ]
        for thread in threads:
            thread.start()
        try:
            self._fill(read)
        except BaseException as error:
            self._fail(error)
        finally:
            for thread in threads:
                thread.join()
        if self._error is not None:
            raise self._error

    def _fill(self, read: Callable[[memoryview], int]) -> None:
        left = self._size
        for number in range(self._count):
            slot = number % SLOTS
            with self._changed:
                while self._busy[slot] and self._error is None:
                    self._changed.wait()
                if self._error is not None:
                    return
            length = min(SLOT_BYTES, left)
            buffer = self._buffers[slot][:length]
            got = 0
            while got < length:
                got += (n := read(buffer[got:]))
                if n == 0:
                    raise ConnectionResetError(f"the stream ended {left - got} bytes short")
            with self._changed:
                self._lengths[slot] = length
                self._busy[slot] = len(self._consumers)
                self._filled = number + 1
                self._changed.notify_all()
            left -= length

    def _consume(self, consumer: Callable[[memoryview], object]) -> None:
        try:
            for number in range(self._count):
                slot = number % SLOTS
                with self._changed:
                    while self._filled <= number and self._error is None:
                        self._changed.wait()
                    if self._error is not None:
                        return
                consumer(self._buffers[slot][: self._lengths[slot]])
                with self._changed:
                    self._busy[slot] -= 1
                    if not self._busy[slot]:
                        self._changed.notify_all()
        except BaseException as error:
            self._fail(error)

    def _fail(self, error: BaseException) -> None:
        with self._changed:
            if self._error is None:
                self._error = error
            self._changed.notify_all()


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
