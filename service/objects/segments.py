"""Reading bytes that span several stored blobs: a plain object is one part, a large
object (SLO or DLO) is its segments in order."""

from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing

import msgspec

from service.objects.policy import StoragePolicies
from service.storage.backend import ObjectReader


class Part(msgspec.Struct, frozen=True):
    """One blob of the whole: its key on the backend of storage policy `policy`, and its
    size."""

    key: str
    size: int
    policy: str


async def part_readers(
    policies: StoragePolicies, parts: Sequence[Part], first: int, last: int
) -> AsyncGenerator[ObjectReader, None]:
    """Readers of bytes `first` to `last` (inclusive) of the parts laid end to end, one
    per part concerned; each is closed when the next is asked for or the generator is
    closed (close it: `aclosing`).

    Raises the backend's errors (ObjectNotFound when a segment vanished meanwhile;
    UnknownPolicy) as it reaches the part concerned.
    """
    offset = 0
    for part in parts:
        start, end = max(first - offset, 0), min(last - offset, part.size - 1)
        offset += part.size
        if part.size == 0 or end < start:
            continue
        backend = policies.backend(part.policy)
        async with await backend.get(part.key, byte_range=(start, end)) as reader:
            yield reader
        if offset > last:
            return


async def read_parts(
    policies: StoragePolicies, parts: Sequence[Part], first: int, last: int
) -> AsyncGenerator[bytes, None]:
    """Bytes `first` to `last` (inclusive) of the parts laid end to end, in chunks; fails
    as `part_readers` does."""
    async with aclosing(part_readers(policies, parts, first, last)) as readers:
        async for reader in readers:
            async for chunk in reader:
                yield chunk
