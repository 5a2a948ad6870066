"""Disk operations (qemu-img, and overlays written in-process checked against it) and
config drive ISOs, on real files."""

import asyncio
import json
import subprocess
from pathlib import Path

import pytest

from service.compute import disks
from service.compute.config_drive import ConfigDrive, build

MIB = 1024 * 1024


async def test_overlay_on_an_absolute_backing_path_grows(tmp_path: Path) -> None:
    base = tmp_path / "base.qcow2"
    await disks.create_blank(base, 16 * MIB)
    (tmp_path / "vm").mkdir()
    overlay = tmp_path / "vm" / "disk"
    with pytest.raises(disks.DiskError, match="not absolute"):
        await disks.create_overlay(Path("base.qcow2"), overlay)
    await disks.create_overlay(base, overlay, 64 * MIB)
    info = await disks.info(overlay)
    assert (info.format, info.virtual_size, info.backing_file) == ("qcow2", 64 * MIB, str(base))
    await disks.resize(overlay, 128 * MIB)
    assert (await disks.info(overlay)).virtual_size == 128 * MIB


def qemu(*argv: str | Path) -> str:
    done = subprocess.run([str(a) for a in argv], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def qemu_img_info(path: Path) -> dict[str, object]:
    found = json.loads(qemu("qemu-img", "info", "--output=json", path))
    assert isinstance(found, dict)
    return {k: v for k, v in found.items() if k not in ("filename", "actual-size")}


@pytest.mark.parametrize(
    ("base_format", "size"),
    [("qcow2", 16 * MIB), ("qcow2", 20 * 1024 * MIB + 512), ("raw", 1024**4 * 8)],
)
async def test_an_overlay_written_here_is_the_one_qemu_img_writes(
    tmp_path: Path, base_format: str, size: int
) -> None:
    base = tmp_path / f"base.{base_format}"
    qemu("qemu-img", "create", "-q", "-f", base_format, base, str(16 * MIB))
    ours, theirs = tmp_path / "ours.qcow2", tmp_path / "theirs.qcow2"
    await disks.create_overlay(base, ours, size)
    qemu("qemu-img", "create", "-q", "-f", "qcow2", "-b", base, "-F", base_format, theirs, size)
    assert qemu_img_info(ours) == qemu_img_info(theirs)
    assert ours.stat().st_size == theirs.stat().st_size
    qemu("qemu-img", "check", ours)
    qemu("qemu-img", "compare", "-q", ours, base)  # every read falls through to the base
    qemu("qemu-io", "-c", "write -P 0xab 1M 3M", "-c", f"write -P 0xcd {size - 65536} 64k", ours)
    qemu("qemu-img", "check", ours)
    read = qemu("qemu-io", "-c", "read -P 0xab 1M 3M", "-c", f"read -P 0xcd {size - 65536} 64k",
                "-c", "read -P 0 8M 1M", ours)  # fmt: skip
    assert "Pattern verification failed" not in read and read.count("read ") == 3


async def test_an_overlay_takes_its_bases_size_and_never_shrinks_it(tmp_path: Path) -> None:
    base = tmp_path / "base.qcow2"
    await disks.create_blank(base, 16 * MIB)
    with pytest.raises(disks.DiskError, match="shrink"):
        await disks.create_overlay(base, tmp_path / "small.qcow2", 8 * MIB)
    assert not (tmp_path / "small.qcow2").exists()
    await disks.create_overlay(base, tmp_path / "same.qcow2")
    info = await disks.info(tmp_path / "same.qcow2")
    assert (info.virtual_size, info.backing_file) == (16 * MIB, str(base))
    assert await asyncio.to_thread(lambda: list(tmp_path.glob("*.part"))) == []


async def test_convert_flattens_the_backing_chain(tmp_path: Path) -> None:
    base = tmp_path / "base.qcow2"
    await disks.create_blank(base, 16 * MIB)
    await disks.create_overlay(base, tmp_path / "overlay.qcow2")
    await disks.convert(tmp_path / "overlay.qcow2", tmp_path / "snapshot.qcow2")
    info = await disks.info(tmp_path / "snapshot.qcow2")
    assert (info.format, info.virtual_size, info.backing_file) == ("qcow2", 16 * MIB, None)


async def test_failures_raise_disk_error_with_qemu_imgs_message(tmp_path: Path) -> None:
    with pytest.raises(disks.DiskError, match="Could not open"):
        await disks.info(tmp_path / "missing.qcow2")


async def test_config_drive_iso_is_labelled_config_2_and_holds_the_files(tmp_path: Path) -> None:
    drive = ConfigDrive(uuid="u-1", name="n", hostname="n", project_id="p", user_data=b"echo hi\n")
    iso = tmp_path / "disk.config"
    await build(drive, iso)
    out = tmp_path / "out"
    process = await asyncio.create_subprocess_exec(
        "xorriso", "-osirrox", "on", "-indev", str(iso), "-extract", "/", str(out),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await process.communicate()
    assert process.returncode == 0, err
    assert b"config-2" in iso.read_bytes()[32768 : 32768 + 2048]  # the volume descriptor
    latest = out / "openstack" / "latest"
    assert (latest / "user_data").read_bytes() == b"echo hi\n"
    assert json.loads((latest / "meta_data.json").read_text())["uuid"] == "u-1"
