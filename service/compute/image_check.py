"""Whether this host may boot an image's bytes, checked before qemu ever opens them.

The image's `disk_format` is only what its uploader said (service/image/formats.py), so
the bytes must be what it says (a "raw" image that is really a qcow2 is refused, as Nova
refuses it), must not reach for other files (a backing or external data file), and must
be in a format this host boots: qcow2, or raw (an ISO is read as raw). qemu then opens
the image in the declared format, never probing it.
"""

import asyncio
from pathlib import Path

from service.compute import disks
from service.compute.hypervisor import HypervisorError
from service.image import formats

_QEMU_FORMAT = {"qcow2": "qcow2", "raw": "raw", "iso": "raw"}
"""The disk_formats this host boots, each with the format qemu reads it in."""


class ImageUnacceptable(HypervisorError):
    """The image's bytes are not what it claims, or not safe to open."""

    def __init__(self, image_id: str, reason: str) -> None:
        super().__init__(f"Image {image_id} is unacceptable: {reason}")


async def bootable_info(path: Path, image_id: str, disk_format: str | None) -> disks.DiskInfo:
    """What qemu-img reads of the image at `path` in its declared `disk_format`, once the
    bytes are shown to be that format and safe. ImageUnacceptable otherwise."""
    qemu_format = _QEMU_FORMAT.get(disk_format or "")
    if qemu_format is None:
        raise ImageUnacceptable(
            image_id,
            f"disk_format {disk_format} is not one this host boots (qcow2, raw, iso); "
            "convert it with `qemu-img convert -O qcow2` and upload it again.",
        )
    seen = formats.inspect(await asyncio.to_thread(_head, path))
    if seen.unsafe is not None:
        raise ImageUnacceptable(image_id, f"it does not pass the safety check: {seen.unsafe}.")
    if seen.format != disk_format:
        mismatch = f"its content is {seen.format}, not its disk_format {disk_format}."
        raise ImageUnacceptable(image_id, mismatch)
    found = await disks.info(path, qemu_format)
    if found.backing_file is not None or found.data_file is not None:
        raise ImageUnacceptable(image_id, "qemu-img finds it reaching for other files.")
    return found


def _head(path: Path) -> bytes:
    with path.open("rb") as file:
        return file.read(formats.HEAD_BYTES)
