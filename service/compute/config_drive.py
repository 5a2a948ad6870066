"""OpenStack config drives: an ISO 9660 image labelled `config-2` that cloud-init reads.

Layout (as Nova writes it): `openstack/<version>/meta_data.json`, `user_data` (only when
given), `network_data.json` and `vendor_data.json`, for `latest` and for each dated
version up to Rocky's, each holding what that version of Nova's metadata has. cloud-init
reads the newest dated version it knows, so each must be whole. `files()` is pure;
`build()` writes the ISO with xorriso (or genisoimage) and raises `ConfigDriveError` when
that fails.
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
from service.processes import run_program

LABEL = "config-2"
LATEST = "latest"
HAVANA, LIBERTY, NEWTON_ONE = "2013-10-17", "2015-10-15", "2016-06-30"
VERSIONS = (
    "2012-08-10",
    "2013-04-04",
    HAVANA,
    LIBERTY,
    NEWTON_ONE,
    "2016-10-06",
    "2017-02-22",
    "2018-08-27",
    LATEST,
)
"""Nova's metadata versions up to Rocky's, then `latest` (Rocky's too: later ones add
what Kumo does not have, such as dedicated_cpus)."""


class ConfigDriveError(HypervisorError):
    """The ISO could not be written; the message says why."""


def user_data_bytes(user_data: str) -> bytes | None:
    """What a server's base64 `user_data` holds: the drive's `user_data` file, as Nova
    writes it. None when it is not base64 (the API refuses it)."""
    try:
        return base64.b64decode(user_data, validate=True)
    except binascii.Error:
        return None


def required(asked: bool, force: bool | None, *, carries: bool, launched: bool = False) -> bool:
    """Whether a server gets a config drive: when it has or asks for one (`asked`); when
    KUMO_FORCE_CONFIG_DRIVE (`force`) is true, if it is new (not `launched`: a rebuild's
    server), as Nova forces them; and, when that setting is unset, whenever it `carries` a
    key pair or user data, since Kumo has no metadata service to give them to its guest."""
    if force is None:
        return asked or carries
    return asked or (force and not launched)


class PublicKey(msgspec.Struct, frozen=True):
    """A server's key pair, as its guest sees it in `keys`."""

    name: str
    type: str
    data: str


class ConfigDrive(msgspec.Struct, frozen=True, kw_only=True):
    """What a server's config drive says about it."""

    uuid: str
    name: str
    hostname: str
    project_id: str
    availability_zone: str | None = None
    launch_index: int = 0
    key: PublicKey | None = None
    metadata: dict[str, str] = {}
    user_data: bytes | None = None
    network_data: dict[str, Any] = msgspec.field(
        default_factory=lambda: {"links": [], "networks": [], "services": []}
    )


def _json(value: object) -> bytes:
    return json.dumps(value, indent=2, sort_keys=True).encode()


def meta_data(drive: ConfigDrive, version: str = LATEST) -> dict[str, Any]:
    """The `meta_data.json` document of a metadata version, in Nova's shape: the key
    pair (if any) in `public_keys` and `keys`, `project_id` from Liberty's, `devices`
    from Newton's."""
    document: dict[str, Any] = {
        "uuid": drive.uuid,
        "name": drive.name,
        "hostname": drive.hostname,
        "availability_zone": drive.availability_zone,
        "launch_index": drive.launch_index,
        "meta": drive.metadata,
    }
    if drive.key is not None:
        document["public_keys"] = {drive.key.name: drive.key.data}
        document["keys"] = [msgspec.to_builtins(drive.key)]
    if _since(version, LIBERTY):
        document["project_id"] = drive.project_id
    if _since(version, NEWTON_ONE):
        document["devices"] = []
    return document


def _since(version: str, first: str) -> bool:
    """Whether metadata `version` has what Nova's `first` added."""
    return version == LATEST or version >= first


def files(drive: ConfigDrive) -> dict[str, bytes]:
    """Every file of the drive, by path inside the ISO."""
    contents = {}
    for version in VERSIONS:
        folder = f"openstack/{version}"
        contents[f"{folder}/meta_data.json"] = _json(meta_data(drive, version))
        if drive.user_data is not None:
            contents[f"{folder}/user_data"] = drive.user_data
        if _since(version, HAVANA):
            contents[f"{folder}/vendor_data.json"] = _json({})
        if _since(version, LIBERTY):
            contents[f"{folder}/network_data.json"] = _json(drive.network_data)
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
        # In a thread (service/processes.py): a build cancelled midway (its server
        # deleted) leaves no child process or pipe behind.
        done = await run_program(command)
    if done.returncode != 0:
        raise ConfigDriveError(f"{command[0]}: {done.stderr.decode(errors='replace').strip()}")
    await asyncio.to_thread(target.chmod, 0o644)
