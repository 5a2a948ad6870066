"""The partition of the log a stream belongs to, computed here as Postgres computes it in
`all_events_query` (`(hashtext(stream_id) & 2147483647) % count`), so that a follower can
tell from an append's stream ids, without a query, whether it holds any of its events.

`hashtext` of a text in a deterministic collation is Postgres's `hash_bytes` (Bob
Jenkins's hash with lookup3's mix and final, src/common/hashfn.c) over its UTF-8 bytes,
read as a little-endian machine reads them. A big-endian server hashes otherwise:
`agrees` tells.
"""

from typing import Any

_MASK = 0xFFFFFFFF
PROBE = "server-5b4ed4a0-0c4b-4d1a-8c34-6d7f2a9e1f03"
"""A stream id whose hash a process compares with its server's (`agrees`)."""


def _rot(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & _MASK


def _mix(a: int, b: int, c: int) -> tuple[int, int, int]:
    for s1, s2, s3 in ((4, 6, 8), (16, 19, 4)):
        a = ((a - c) & _MASK) ^ _rot(c, s1)
        c = (c + b) & _MASK
        b = ((b - a) & _MASK) ^ _rot(a, s2)
        a = (a + c) & _MASK
        c = ((c - b) & _MASK) ^ _rot(b, s3)
        b = (b + a) & _MASK
    return a, b, c


def _final(a: int, b: int, c: int) -> int:
    c = ((c ^ b) - _rot(b, 14)) & _MASK
    a = ((a ^ c) - _rot(c, 11)) & _MASK
    b = ((b ^ a) - _rot(a, 25)) & _MASK
    c = ((c ^ b) - _rot(b, 16)) & _MASK
    a = ((a ^ c) - _rot(c, 4)) & _MASK
    b = ((b ^ a) - _rot(a, 14)) & _MASK
    return ((c ^ b) - _rot(b, 24)) & _MASK


def hashtext(text: str) -> int:
    """Postgres's `hashtext(text)` (a signed 32-bit integer) on a little-endian server."""
    data = text.encode()
    a = b = c = (0x9E3779B9 + len(data) + 3923095) & _MASK
    whole = len(data) - len(data) % 12
    for i in range(0, whole, 12):
        a = (a + int.from_bytes(data[i : i + 4], "little")) & _MASK
        b = (b + int.from_bytes(data[i + 4 : i + 8], "little")) & _MASK
        c = (c + int.from_bytes(data[i + 8 : i + 12], "little")) & _MASK
        a, b, c = _mix(a, b, c)
    tail = data[whole:].ljust(11, b"\0")
    a = (a + int.from_bytes(tail[0:4], "little")) & _MASK
    b = (b + int.from_bytes(tail[4:8], "little")) & _MASK
    c = (c + (int.from_bytes(tail[8:11], "little") << 8)) & _MASK  # its low byte: the length's
    c = _final(a, b, c)
    return c - (1 << 32) if c & 0x80000000 else c


def partition_of(stream_id: str, count: int) -> int:
    """The partition (of `count`) a stream's events are read in."""
    return (hashtext(stream_id) & 0x7FFFFFFF) % count


async def agrees(db: Any) -> bool:
    """Whether the server behind `db` hashes stream ids as `hashtext` does."""
    theirs: int = await db.fetchval("SELECT hashtext($1)", PROBE)
    return theirs == hashtext(PROBE)
