"""Disk images: overlays, resizes, conversions (for snapshots).

Overlays are written here (service/compute/qcow2.py); everything else runs qemu-img as
a subprocess. Nothing blocks the event loop, and failures raise `DiskError` with
qemu-img's message.
"""

import asyncio
import json
import os
from pathlib import Path

import msgspec

from service.compute import qcow2
from service.compute.hypervisor import HypervisorError
from service.processes import run_program

QEMU_IMG = "qemu-img"


class DiskError(HypervisorError):
    """qemu-img failed or is missing; the message is its own."""


class DiskInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What qemu-img knows of an image."""

    format: str
    virtual_size: int
    actual_size: int
    backing_file: str | None = None
    data_file: str | None = None


async def _qemu_img(*args: str | Path) -> bytes:
    try:
        done = await run_program([QEMU_IMG, *map(str, args)])
    except FileNotFoundError as e:
        raise DiskError(f"{QEMU_IMG} is not installed") from e
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip()
        raise DiskError(f"{QEMU_IMG} {args[0]}: {message}")
    return done.stdout


async def create_overlay(
    base: Path, overlay: Path, size_bytes: int | None = None, *, base_info: DiskInfo | None = None
) -> None:
    """A qcow2 `overlay` backed by `base` (an absolute path), of `size_bytes` (default:
    the base's size, rounded up to 512 bytes).

    The base's format is recorded, so it is never probed again; it and the base's size
    are read with qemu-img unless `base_info` gives them. Never shrinks: a `size_bytes`
    below the base's size raises DiskError. Its folder is made if missing, and an
    overlay already there is kept (a create carried out again changes nothing); the file
    is written under a temporary name and renamed, so an overlay that exists is whole.
    """
    if not base.is_absolute():
        # qemu resolves a relative backing path against the overlay's folder, not ours.
        raise DiskError(f"backing path {base} is not absolute")
    found = base_info or await info(base)
    size = found.virtual_size if size_bytes is None else size_bytes
    if size < found.virtual_size:
        raise DiskError(f"an overlay of {size} bytes would shrink {base} ({found.virtual_size})")
    try:
        data = qcow2.overlay(str(base), found.format, -(-size // 512) * 512)
    except ValueError as error:
        raise DiskError(f"overlay on {base}: {error}") from None
    await asyncio.to_thread(_write_new, overlay, data)


def _write_new(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        return
    partial = path.with_name(f"{path.name}.part")
    with open(partial, "wb") as out:
        out.write(data)
    os.replace(partial, path)


async def create_blank(path: Path, size_bytes: int) -> None:
    """An empty qcow2 image of `size_bytes` (ephemeral and swap disks)."""
    await _qemu_img("create", "-q", "-f", "qcow2", path, str(size_bytes))


async def resize(path: Path, size_bytes: int) -> None:
    """Grow an image (not in use by a running domain) to `size_bytes`; never shrinks."""
    await _qemu_img("resize", "-q", path, str(size_bytes))


async def convert(source: Path, target: Path, fmt: str = "qcow2") -> None:
    """Copy `source` with its whole backing chain flattened into `target` as `fmt`
    (createImage's snapshot). A running guest's disk is read without its lock (`-U`): the
    snapshot is crash-consistent, as a power cut would leave it."""
    await _qemu_img("convert", "-U", "-O", fmt, source, target)


async def info(path: Path, fmt: str | None = None) -> DiskInfo:
    """Format, sizes, backing and external data file of an image, read as `fmt` when
    given (never probed then); DiskError if it is not one."""
    forced = ("-f", fmt) if fmt else ()
    raw = json.loads(await _qemu_img("info", "-U", *forced, "--output=json", path))
    specific = raw.get("format-specific", {}).get("data", {})
    return DiskInfo(
        format=raw["format"],
        virtual_size=raw["virtual-size"],
        actual_size=raw.get("actual-size", 0),
        backing_file=raw.get("backing-filename"),
        data_file=specific.get("data-file"),
    )
