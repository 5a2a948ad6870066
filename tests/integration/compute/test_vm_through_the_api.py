"""A real machine through the whole API (marked `vm`): the tiny guest uploaded to the
image service, booted on qemu:///system by the compute host, its console read through
the API, stopped, started, snapshotted and deleted — and libvirt has nothing left."""

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import msgspec
import pytest
from aiohttp.test_utils import TestClient, TestServer

from events.postgres import PostgresEventStore
from service.app import create_app
from service.compute.flavor_bootstrap import ensure_default_flavors
from service.compute.hypervisor import Hypervisor
from service.compute.worker import COMPUTE_HOST
from service.config import Settings
from service.identity.bootstrap import Bootstrapped
from tests.integration.compute.conftest import Nova
from tests.integration.compute.hypervisor_helpers import PUBLIC_KEY
from tests.integration.compute.test_servers import wait_for
from tests.integration.identity.conftest import ADMIN_PASSWORD, Client, password_auth, token_for
from tools.build_test_guest import AUTHORIZED_KEY, MARKER, TinyGuest
from tools.build_test_guest import build as build_guest

pytestmark = pytest.mark.vm
ROOT = Path(__file__).resolve().parents[3]
BOOT_TIMEOUT = 90


@pytest.fixture(scope="module")
def guest() -> TinyGuest:
    return build_guest()


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """Kumo's data folder where qemu (user libvirt-qemu) can read the disks."""
    (ROOT / ".kumo").mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="vm-api-", dir=ROOT / ".kumo"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
async def cloud(
    settings: Settings, store: PostgresEventStore, admin: Bootstrapped, data_dir: Path
) -> AsyncIterator[Client]:
    settings = msgspec.structs.replace(
        settings, libvirt_uri="qemu:///system", host_name="vm-host", data_dir=data_dir
    )
    await ensure_default_flavors(store)
    async with TestClient(TestServer(create_app(settings, store, compute=True))) as client:
        yield client


def cloud_host(cloud: Client) -> Hypervisor:
    """The app's own compute host: what libvirt runs, seen through the worker's driver."""
    hypervisor = cloud.app[COMPUTE_HOST].hypervisor
    assert hypervisor is not None
    return hypervisor


async def chunks(data: bytes, size: int = 1 << 20) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def console(nova: Nova, server_id: str) -> str:
    reply = await nova.post(f"servers/{server_id}/action", {"os-getConsoleOutput": {}})
    assert reply.status == 200, reply.body
    return str(reply.check("servers.get_console_output")["output"])


async def upload_guest(cloud: Client, nova: Nova, guest: TinyGuest) -> str:
    """The tiny guest's disk as an image of the admin's, through the image API."""
    headers = {"X-Auth-Token": nova.token}
    created = await cloud.post(
        "/image/v2/images",
        headers=headers,
        json={"name": "tiny", "disk_format": "qcow2", "container_format": "bare"},
    )
    image_id = str((await created.json())["id"])
    upload = await cloud.put(
        f"/image/v2/images/{image_id}/file",
        data=chunks(guest.disk.read_bytes()),
        headers={**headers, "Content-Type": "application/octet-stream"},
    )
    assert upload.status == 204
    return image_id


async def admin_nova(cloud: Client) -> Nova:
    token = await token_for(cloud, password_auth("admin", ADMIN_PASSWORD, project="admin"))
    return Nova(cloud, token)


async def test_a_real_guest_boots_answers_and_leaves_nothing_behind(
    cloud: Client, guest: TinyGuest
) -> None:
    nova = await admin_nova(cloud)
    image_id = await upload_guest(cloud, nova, guest)

    reply = await nova.post(
        "servers", {"server": {"name": "tiny-vm", "imageRef": image_id, "flavorRef": "1"}}
    )
    server_id = reply.check("servers.create_server_with_admin_pass")["server"]["id"]
    try:
        await wait_for(nova, server_id, "ACTIVE")
        async with asyncio.timeout(BOOT_TIMEOUT):
            while MARKER not in await console(nova, server_id):
                await asyncio.sleep(0.5)

        assert (await nova.post(f"servers/{server_id}/action", {"os-stop": None})).status == 202
        await wait_for(nova, server_id, "SHUTOFF")
        assert (await nova.post(f"servers/{server_id}/action", {"os-start": None})).status == 202
        await wait_for(nova, server_id, "ACTIVE")

        snapshot = await nova.post(f"servers/{server_id}/action", {"createImage": {"name": "s"}})
        snapshot_id = snapshot.headers["Location"].rsplit("/", 1)[-1]
        async with asyncio.timeout(BOOT_TIMEOUT):
            while (await nova.get(f"images/{snapshot_id}")).body["image"]["status"] != "ACTIVE":
                await asyncio.sleep(0.2)
    finally:
        assert (await nova.delete(f"servers/{server_id}")).status == 204
        await wait_for(nova, server_id, "DELETED")
    assert server_id not in {d.uuid for d in await cloud_host(cloud).list_domains()}


async def test_a_real_guest_puts_its_key_pair_in_authorized_keys(
    cloud: Client, guest: TinyGuest
) -> None:
    """A server created with a key pair, and nothing else, gets a config drive, and its
    guest finds the public key there and authorizes it, as cloud-init does."""
    nova = await admin_nova(cloud)
    image_id = await upload_guest(cloud, nova, guest)
    keypair = {"keypair": {"name": "k", "public_key": PUBLIC_KEY}}
    assert (await nova.post("os-keypairs", keypair)).status == 200
    body = {"name": "keyed-vm", "imageRef": image_id, "flavorRef": "1", "key_name": "k"}
    server_id = (await nova.post("servers", {"server": body})).body["server"]["id"]
    try:
        await wait_for(nova, server_id, "ACTIVE")
        async with asyncio.timeout(BOOT_TIMEOUT):
            while MARKER not in (output := await console(nova, server_id)):
                await asyncio.sleep(0.5)
        assert f"{AUTHORIZED_KEY} {PUBLIC_KEY}" in output
    finally:
        assert (await nova.delete(f"servers/{server_id}")).status == 204
        await wait_for(nova, server_id, "DELETED")
