"""Streaming: a put and a get of an object many times the chunk size keep the process's
memory flat, far below the object's size."""

import hashlib
import os
from collections.abc import AsyncIterator

import psutil

from service.storage import ObjectBackend
from service.storage.s3 import MiB

CHUNKS = 64
BOUND = 24 * MiB  # well under the 64 MiB object; S3 holds one part plus the threshold


async def test_put_and_get_stream(backend: ObjectBackend) -> None:
    process = psutil.Process()
    baseline = peak = process.memory_info().rss
    block = os.urandom(MiB)
    expected = hashlib.md5()

    async def upload() -> AsyncIterator[bytes]:
        nonlocal peak
        for _ in range(CHUNKS):
            peak = max(peak, process.memory_info().rss)
            expected.update(block)
            yield block

    stored = await backend.put("big", upload())
    assert stored.size == CHUNKS * MiB
    assert stored.hashes is not None and stored.hashes.md5 == expected.hexdigest()

    received = hashlib.md5()
    async with await backend.get("big") as reader:
        async for chunk in reader:
            peak = max(peak, process.memory_info().rss)
            received.update(chunk)
    assert received.hexdigest() == expected.hexdigest()
    assert peak - baseline < BOUND, f"RSS grew by {(peak - baseline) / MiB:.1f} MiB"
