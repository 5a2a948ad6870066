"""An empty qcow2 (version 3) overlay on a backing image, as bytes: what
`qemu-img create -f qcow2 -b BASE -F FMT OVERLAY SIZE` writes, made without a process.

The layout is qemu-img's for a new image, in 64 KiB clusters: the header, its
extensions and the backing file's name in cluster 0; the refcount table in cluster 1;
one refcount block in cluster 2 (16-bit counts, one for each cluster in use); the L1
table, all zeros (nothing allocated: every read goes to the backing image), from
cluster 3. The file ends with the L1 table, as qemu-img's does.
"""

import struct

CLUSTER_BITS = 16
CLUSTER = 1 << CLUSTER_BITS
L2_SPAN = CLUSTER * (CLUSTER // 8)
"""Bytes of guest disk one L1 entry (one L2 table of 8-byte entries) maps."""
REFCOUNT_ORDER = 4  # 16-bit refcounts, qemu's default
HEADER_LENGTH = 112  # the version 3 header with its compression type byte, padded to 8
MAX_BACKING_NAME = 1023  # qemu reads no longer name
BACKING_FORMAT_EXTENSION = 0xE2792ACA
END_OF_EXTENSIONS = 0
_HEADER = struct.Struct(">4sIQIIQIIQQIIQQQQIIB7x")


def _extension(kind: int, data: bytes) -> bytes:
    padded = data + bytes(-len(data) % 8)
    return struct.pack(">II", kind, len(data)) + padded


def overlay(backing: str, backing_format: str, size: int) -> bytes:
    """The whole file of an empty overlay of `size` bytes (a multiple of 512) on the image
    at `backing` (an absolute path, as qemu resolves relative ones against the overlay's
    folder) in `backing_format`. ValueError for a size or name qemu would refuse."""
    name = backing.encode()
    if size <= 0 or size % 512:
        raise ValueError(f"size {size} is not a positive multiple of 512")
    if not 0 < len(name) <= MAX_BACKING_NAME:
        raise ValueError(f"backing file name of {len(name)} bytes")
    extensions = _extension(BACKING_FORMAT_EXTENSION, backing_format.encode()) + _extension(
        END_OF_EXTENSIONS, b""
    )
    name_offset = HEADER_LENGTH + len(extensions)
    if name_offset + len(name) > CLUSTER:
        raise ValueError("the header and backing file name do not fit in one cluster")
    l1_size = -(-size // L2_SPAN)
    l1_clusters = -(-l1_size * 8 // CLUSTER)
    used_clusters = 3 + l1_clusters
    if used_clusters * 2 > CLUSTER:
        raise ValueError(f"size {size} needs more than one refcount block")
    header = _HEADER.pack(
        b"QFI\xfb",
        3,  # version
        name_offset,
        len(name),
        CLUSTER_BITS,
        size,
        0,  # no encryption
        l1_size,
        3 * CLUSTER,  # L1 table
        1 * CLUSTER,  # refcount table
        1,  # refcount table clusters
        0,  # snapshots
        0,  # snapshots offset
        0,  # incompatible features (not dirty, not corrupt)
        0,  # compatible features
        0,  # autoclear features
        REFCOUNT_ORDER,
        HEADER_LENGTH,
        0,  # compression type: zlib
    )
    first = header + extensions + name
    refcount_table = struct.pack(">Q", 2 * CLUSTER)
    refcount_block = struct.pack(f">{used_clusters}H", *([1] * used_clusters))
    return b"".join(
        (
            first + bytes(CLUSTER - len(first)),
            refcount_table + bytes(CLUSTER - len(refcount_table)),
            refcount_block + bytes(CLUSTER - len(refcount_block)),
            bytes(l1_size * 8),
        )
    )
