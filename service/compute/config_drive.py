"""OpenStack config drives: an ISO 9660 image labelled `config-2` that cloud-init reads.

Layout (as Nova writes it): `openstack/latest/meta_data.json`, `user_data` (only when
given), `network_data.json` and `vendor_data.json`. `files()` is pure; `build()` writes
the ISO with xorriso (or genisoimage) and raises `ConfigDriveError` when that fails.
"""

import asyncio
import base64
import binascii
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import msgspec

from service.compute.hypervisor import HypervisorError

LABEL = "config-2"
LATEST = "openstack/latest"


class ConfigDriveError(HypervisorError):
    """The ISO could not be written; the message says why."""


def user_data_bytes(user_data: str) -> bytes | None:
    """What a server's base64 `user_data` holds: the drive's `user_data` file, as Nova
    writes it. None when it is not base64 (the API refuses it)."""
    try:
        return base64.b64decode(user_data, validate=True)
    except binascii.Error:
        return None


class ConfigDrive(msgspec.Struct, frozen=True, kw_only=True):
    """What a server's config drive says about it."""

    uuid: str
    name: str
    hostname: str
    project_id: str
    availability_zone: str | None = None
    launch_index: int = 0
    public_keys: dict[str, str] = {}
    metadata: dict[str, str] = {}
    user_data: bytes | None = None
    network_data: dict[str, Any] = msgspec.field(
        default_factory=lambda: {"links": [], "networks": [], "services": []}
    )


def _json(value: object) -> bytes:
    return json.dumps(value, indent=2, sort_keys=True).encode()


def meta_data(drive: ConfigDrive) -> dict[str, Any]:
    """The `meta_data.json` document, in Nova's shape."""
    return {
        "uuid": drive.uuid,
        "name": drive.name,
        "hostname": drive.hostname,
        "project_id": drive.project_id,
        "availability_zone": drive.availability_zone,
        "launch_index": drive.launch_index,
        "meta": drive.metadata,
        "public_keys": drive.public_keys,
        "keys": [
            {"name": name, "type": "ssh", "data": key} for name, key in drive.public_keys.items()
        ],
        "devices": [],
    }


def files(drive: ConfigDrive) -> dict[str, bytes]:
    """Every file of the drive, by path inside the ISO."""
    contents = {
        f"{LATEST}/meta_data.json": _json(meta_data(drive)),
        f"{LATEST}/network_data.json": _json(drive.network_data),
        f"{LATEST}/vendor_data.json": _json({}),
    }
    if drive.user_data is not None:
        contents[f"{LATEST}/user_data"] = drive.user_data
    return contents


def _iso_command() -> list[str]:
    if shutil.which("xorriso"):
        return ["xorriso", "-as", "mkisofs", "-quiet", "-V", LABEL, "-J", "-r"]
    if shutil.which("genisoimage"):
        return ["genisoimage", "-quiet", "-V", LABEL, "-J", "-r"]
    raise ConfigDriveError("neither xorriso nor genisoimage is installed")


def _write_tree(contents: dict[str, bytes], root: Path) -> None:
    for name, content in contents.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


async def build(drive: ConfigDrive, target: Path) -> None:
    """Write the drive as an ISO at `target` (replaced if it exists; world-readable)."""
    with tempfile.TemporaryDirectory(prefix="kumo-config-drive-") as tmp:
        source = Path(tmp)
        await asyncio.to_thread(_write_tree, files(drive), source)
        command = [*_iso_command(), "-o", str(target), str(source)]
        process = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
        _out, err = await process.communicate()
    if process.returncode != 0:
        raise ConfigDriveError(f"{command[0]}: {err.decode(errors='replace').strip()}")
    await asyncio.to_thread(target.chmod, 0o644)
