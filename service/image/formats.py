"""What an image's bytes are, read from their start, and whether a hypervisor may open them.

An image's `disk_format` is what its uploader said; nothing checks it on upload (Tempest's
interop tests upload arbitrary bytes as qcow2). Whoever opens the bytes with qemu must
therefore look first, as Nova does since CVE-2024-32498: a "raw" image that is really a
qcow2 naming a backing file (`/etc/shadow`) or an external data file would have qemu read
a host file into the guest. `inspect` recognises the container formats qemu itself would
probe, from the first HEAD_BYTES of the image, and says why a qcow2 is unsafe.
"""

import struct

import msgspec

HEAD_BYTES = 64 * 1024
"""How much of an image `inspect` reads: past the ISO 9660 volume descriptor at 32 KiB,
and the whole first cluster of a qcow2 (its header extensions) for the usual 64 KiB."""

_QCOW2_HEADER = struct.Struct(">4sIQIIQIIQQIIQ")  # to snapshots_offset, 72 bytes
_QCOW2_V3_HEADER = struct.Struct(">QQQII")  # incompatible ... header_length, from 72
_QCOW2_EXTERNAL_DATA_FILE = 1 << 2
_QCOW2_KNOWN_INCOMPATIBLE = 0b11111  # dirty, corrupt, external data, compression, ext. L2
_QCOW2_DATA_FILE_EXTENSION = 0x44415441
_QCOW2_END_OF_EXTENSIONS = 0
_ISO_DESCRIPTOR = 0x8001  # "CD001" of the first volume descriptor, in sector 16
_VDI_MAGIC_AT = 0x40

_MAGIC_AT_START = {
    b"QFI\xfb": "qcow2",
    b"KDMV": "vmdk",
    b"# Disk DescriptorFile": "vmdk",
    b"conectix": "vhd",
    b"vhdxfile": "vhdx",
    b"QED\x00": "qed",
    b"LUKS\xba\xbe": "luks",
    b"WithoutFreeSpace": "parallels",
    b"WithouFreSpacExt": "parallels",
    b"Bochs Virtual HD Image": "bochs",
}


class Inspection(msgspec.Struct, frozen=True):
    """The format the bytes are in (`raw` when nothing else matches) and, when opening
    them is unsafe, why."""

    format: str
    unsafe: str | None = None


def inspect(head: bytes) -> Inspection:
    """What the image starting with `head` (its first HEAD_BYTES, or all of a shorter
    image) is. Bytes that look like two formats at once are unsafe: which one a reader
    sees would depend on the reader."""
    found = [name for magic, name in _MAGIC_AT_START.items() if head.startswith(magic)]
    if head[_VDI_MAGIC_AT : _VDI_MAGIC_AT + 4] == b"\x7f\x10\xda\xbe":
        found.append("vdi")
    if head[_ISO_DESCRIPTOR : _ISO_DESCRIPTOR + 5] == b"CD001":
        found.append("iso")
    if not found:
        return Inspection("raw")
    if len(found) > 1:
        return Inspection(found[0], f"its bytes are both {' and '.join(found)}")
    if found[0] == "qcow2":
        return Inspection("qcow2", _qcow2_danger(head))
    return Inspection(found[0])


def _qcow2_danger(head: bytes) -> str | None:
    """Why qemu opening this qcow2 would read other files, or None."""
    if len(head) < _QCOW2_HEADER.size:
        return "its qcow2 header is cut short"
    fields = _QCOW2_HEADER.unpack_from(head)
    version, backing_offset = fields[1], fields[2]
    if backing_offset:
        return "it names a backing file"
    if version < 3:
        return None
    if len(head) < _QCOW2_HEADER.size + _QCOW2_V3_HEADER.size:
        return "its qcow2 header is cut short"
    incompatible, _, _, _, header_length = _QCOW2_V3_HEADER.unpack_from(head, _QCOW2_HEADER.size)
    if incompatible & _QCOW2_EXTERNAL_DATA_FILE:
        return "it keeps its data in an external file"
    if incompatible & ~_QCOW2_KNOWN_INCOMPATIBLE:
        return f"it needs qcow2 features unknown here ({incompatible:#x})"
    if _names_data_file(head, header_length):
        return "it names an external data file"
    return None


def _names_data_file(head: bytes, offset: int) -> bool:
    """Whether the header extensions from `offset` name an external data file."""
    while offset + 8 <= len(head):
        kind, length = struct.unpack_from(">II", head, offset)
        if kind == _QCOW2_END_OF_EXTENSIONS:
            return False
        if kind == _QCOW2_DATA_FILE_EXTENSION:
            return True
        offset += 8 + length + (-length % 8)
    return False
