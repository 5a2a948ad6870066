"""Disk images through qemu-img: overlays, resizes, conversions (for snapshots).

Every function runs qemu-img as a subprocess (never blocking the event loop) and raises
`DiskError` with qemu-img's message when it fails.
"""

import json
from pathlib import Path

import msgspec

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
    base: Path, overlay: Path, size_bytes: int | None = None, *, base_format: str | None = None
) -> None:
    """A qcow2 `overlay` backed by `base` (an absolute path), grown to `size_bytes`.

    The base's format (`base_format`, or detected here once) is recorded, so it is never
    probed again. Never shrinks: a `size_bytes` below the base's size raises DiskError.
    """
    if not base.is_absolute():
        # qemu resolves a relative backing path against the overlay's folder, not ours.
        raise DiskError(f"backing path {base} is not absolute")
    fmt = base_format or (await info(base)).format
    args: list[str | Path] = ["create", "-q", "-f", "qcow2", "-b", base, "-F", fmt]
    await _qemu_img(*args, overlay, *([] if size_bytes is None else [str(size_bytes)]))


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


async def info(path: Path) -> DiskInfo:
    """Format, sizes and backing file of an image; DiskError if it is not one."""
    raw = json.loads(await _qemu_img("info", "-U", "--output=json", path))
    return DiskInfo(
        format=raw["format"],
        virtual_size=raw["virtual-size"],
        actual_size=raw.get("actual-size", 0),
        backing_file=raw.get("backing-filename"),
    )
