"""The compute host and Glance's multiple stores, on libvirt's test driver: a server boots
from an image kept only in another store than the object backend, its snapshot goes to
the default store, and a rotated-out backup leaves every store it was copied to."""

import asyncio

import msgspec
import pytest

from service.config import ImageStoreSettings, Settings
from service.image.stores import IMAGE_STORES
from tests.integration.compute.conftest import Nova
from tests.integration.compute.test_admin_actions import backups, idle
from tests.integration.compute.test_servers import (
    TIMEOUT,
    admin_nova,
    cloud,
    create,
    image_id,
    member,
    wait_for,
)
from tests.integration.identity.conftest import Client

__all__ = ["admin_nova", "cloud", "image_id", "member"]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Stores `fast` (the default) and `cheap` beside the object backend."""
    fast, cheap = ImageStoreSettings(type="local"), ImageStoreSettings(type="local")
    stores = {"fast": fast, "cheap": cheap}
    return msgspec.structs.replace(settings, image_stores=stores, image_default_store="fast")


async def in_stores(nova: Nova, image_id: str) -> str:
    reply = await nova.call("GET", f"images/{image_id}", prefix="/image/v2")
    stores: str = reply.body["stores"]
    return stores


async def test_snapshots_and_backups_in_stores(
    cloud: Client, member: Nova, admin_nova: Nova, image_id: str
) -> None:
    assert await in_stores(admin_nova, image_id) == "fast"  # the default store
    server_id = await create(member, image_id)
    await wait_for(member, server_id, "ACTIVE")

    for name in ("b1", "b2"):
        backup = {"name": name, "backup_type": "daily", "rotation": "1"}
        reply = await member.post(f"servers/{server_id}/action", {"createBackup": backup})
        assert reply.status == 202
        backup_id = reply.headers["Location"].rsplit("/", 1)[1]
        await idle(member, server_id)
        assert await in_stores(member, backup_id) == "fast"
        if name == "b1":
            first = backup_id
            copy = {"method": {"name": "copy-image"}, "stores": ["cheap"]}
            path = f"images/{first}/import"
            assert (await member.call("POST", path, copy, prefix="/image/v2")).status == 202
            async with asyncio.timeout(TIMEOUT):
                while await in_stores(member, first) != "cheap,fast":
                    await asyncio.sleep(0.1)
    assert await backups(member, server_id) == ["b2"]
    stores = cloud.app[IMAGE_STORES]
    for store in ("fast", "cheap"):
        assert await stores.backend(store).head(f"images/{first}") is None, store
