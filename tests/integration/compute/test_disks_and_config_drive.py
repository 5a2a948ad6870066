"""qemu-img disk operations and config drive ISOs, on real files."""

import asyncio
import json
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
