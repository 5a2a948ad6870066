"""Reading bytes that span several stored blobs: a plain object is one part, a large
object (SLO or DLO) is its segments in order."""

from collections.abc import AsyncGenerator, Sequence

import msgspec

from service.storage.backend import ObjectBackend


class Part(msgspec.Struct, frozen=True):
    """One blob of the whole: its backend key and size."""

    key: str
    size: int


async def read_parts(
    backend: ObjectBackend, parts: Sequence[Part], first: int, last: int
) -> AsyncGenerator[bytes, None]:
    """Bytes `first` to `last` (inclusive) of the parts laid end to end.

    Raises the backend's errors (ObjectNotFound when a segment vanished meanwhile) as it
    reaches the part concerned.
    """
    offset = 0
    for part in parts:
        start, end = max(first - offset, 0), min(last - offset, part.size - 1)
        offset += part.size
        if part.size == 0 or end < start:
            continue
        async with await backend.get(part.key, byte_range=(start, end)) as reader:
            async for chunk in reader:
                yield chunk
        if offset > last:
            return
