"""KUMO_IMAGE_FORMAT_ENFORCEMENT: an image whose bytes are not its disk_format, or are
unsafe to open, is refused when they arrive — by upload (400), glance-direct import (400)
or web-download (back to `queued`, saying why) — and nothing of them is kept."""

import subprocess
from pathlib import Path

import msgspec
import pytest

from events.postgres import PostgresEventStore
from service.config import Settings
from service.storage import ObjectBackend

from . import test_web_download
from .conftest import Images
from .test_data import keys
from .test_web_download import settled, web_download

OCTET = {"Content-Type": "application/octet-stream"}
source = test_web_download.source  # the fixture, used here by name


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Enforcement on; imports may fetch from this machine (the web-download source)."""
    return msgspec.structs.replace(
        settings,
        image_format_enforcement=True,
        image_import_local_hosts=True,
        image_import_ports="",
    )


def qemu_img(tmp_path: Path, *options: str) -> bytes:
    disk = tmp_path / "disk"
    subprocess.run(["qemu-img", "create", "-q", *options, str(disk), "1M"], check=True)
    return disk.read_bytes()


async def test_an_upload_must_be_its_disk_format(
    as_alice: Images, objects: ObjectBackend, tmp_path: Path
) -> None:
    qcow2 = qemu_img(tmp_path, "-f", "qcow2")
    lying = (await as_alice.create(disk_format="raw", container_format="bare"))["id"]
    reply = await as_alice.call("PUT", f"images/{lying}/file", data=qcow2, headers=OCTET)
    assert reply.status == 400, reply.body
    assert "Image content does not match disk_format raw: it is qcow2." in reply.body
    assert (await as_alice.show(lying))["status"] == "queued"
    assert await keys(objects) == []
    honest = (await as_alice.create(disk_format="qcow2", container_format="bare"))["id"]
    assert (await as_alice.upload(honest, qcow2)).status == 204
    assert (await as_alice.show(honest))["status"] == "active"


async def test_small_and_empty_images_are_read_whole(as_alice: Images) -> None:
    tiny = (await as_alice.create(disk_format="raw", container_format="bare"))["id"]
    assert (await as_alice.upload(tiny, b"\0" * 512)).status == 204
    empty = (await as_alice.create(disk_format="raw", container_format="bare"))["id"]
    assert (await as_alice.upload(empty, b"")).status == 204
    assert (await as_alice.show(empty))["status"] == "active"
    lying = (await as_alice.create(disk_format="qcow2", container_format="bare"))["id"]
    reply = await as_alice.call("PUT", f"images/{lying}/file", data=b"", headers=OCTET)
    assert reply.status == 400 and "it is raw" in reply.body


async def test_a_qcow2_reaching_for_host_files_is_refused(
    as_alice: Images, objects: ObjectBackend, tmp_path: Path
) -> None:
    backed = qemu_img(tmp_path, "-f", "qcow2", "-b", "/etc/hostname", "-F", "raw")
    image = (await as_alice.create(disk_format="qcow2", container_format="bare"))["id"]
    reply = await as_alice.call("PUT", f"images/{image}/file", data=backed, headers=OCTET)
    assert reply.status == 400 and "it names a backing file" in reply.body
    assert await keys(objects) == []


async def test_a_glance_direct_import_must_be_its_disk_format(
    as_alice: Images, tmp_path: Path
) -> None:
    image = (await as_alice.create(disk_format="qcow2", container_format="bare"))["id"]
    raw = qemu_img(tmp_path, "-f", "raw")
    staged = await as_alice.call("PUT", f"images/{image}/stage", data=raw, headers=OCTET)
    assert staged.status == 204, staged.body
    body = {"method": {"name": "glance-direct"}}
    reply = await as_alice.call("POST", f"images/{image}/import", json=body)
    assert reply.status == 400 and "does not match disk_format qcow2: it is raw" in reply.body
    assert (await as_alice.show(image))["status"] != "active"


async def test_a_web_download_must_be_its_disk_format(
    as_alice: Images, source: str, objects: ObjectBackend, store: PostgresEventStore
) -> None:
    image = (await as_alice.create(disk_format="qcow2", container_format="bare"))["id"]
    assert (await web_download(as_alice, image, f"{source}/disk.img")).status == 202
    assert (await settled(as_alice, image))["status"] == "queued"
    assert await keys(objects) == []
    events = await store.read_stream(f"image-{image}")
    assert "does not match disk_format qcow2: it is raw" in getattr(events[-1].event, "reason", "")
