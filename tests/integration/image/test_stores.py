"""Glance's multiple stores: the store list, uploads and imports to named stores,
copy-image, deleting an image's bytes from one store, who may do it, what the quota
counts, and a rebuilt catalog — with stores `fast` (local, the default) and `cheap`
(local, or an S3 bucket on moto) beside `default`, Kumo's object backend."""

import asyncio
import hashlib
import secrets
from pathlib import Path
from typing import Any

import msgspec
import pytest

from events.postgres import PostgresEventStore
from projections.runner import rebuild
from service.compute.guests import GuestFiles
from service.config import ImageStoreSettings, Settings
from service.image import quota
from service.image.directory import get_image
from service.image.importer import ImageImporter
from service.image.projection import ImageProjection
from service.image.stores import IMAGE_STORES, ImageStores
from service.storage import BackendUnavailable
from tests.integration.identity.conftest import Client, Person

from . import test_web_download
from .conftest import Images
from .test_web_download import DATA as WEB_DATA
from .test_web_download import settled

source = test_web_download.source  # the web server fixture, used here by name

DATA = secrets.token_bytes(256 * 1024 + 5)
OCTET = {"Content-Type": "application/octet-stream"}


@pytest.fixture(params=["local+local", "local+s3"])
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """Stores `fast` (the default) and `cheap`, a folder or a bucket of its own."""
    fast = ImageStoreSettings(type="local", description="Fast disks")
    # web-download imports may fetch from this machine's test server
    settings = msgspec.structs.replace(
        settings, image_import_local_hosts=True, image_import_ports=""
    )
    if request.param == "local+local":
        cheap = ImageStoreSettings(type="local", description="Cheap disks")
        return msgspec.structs.replace(
            settings, image_stores={"fast": fast, "cheap": cheap}, image_default_store="fast"
        )
    cheap = ImageStoreSettings(type="s3", bucket=f"kumo-cheap-{secrets.token_hex(6)}")
    return msgspec.structs.replace(
        settings,
        image_stores={"fast": fast, "cheap": cheap},
        image_default_store="fast",
        s3_endpoint_url=request.getfixturevalue("moto_url"),
        s3_access_key_id="testing",
        s3_secret_access_key="testing",
    )


@pytest.fixture
def stores(client: Client) -> ImageStores:
    return client.app[IMAGE_STORES]


async def held_by(stores: ImageStores, image_id: str) -> list[str]:
    """The stores whose backend has the image's bytes."""
    return [s.id for s in stores if await s.backend.head(f"images/{image_id}") is not None]


async def uploaded(images: Images, store: str | None = None, **attributes: Any) -> str:
    """A new active image of DATA, uploaded to `store` (default: the default one)."""
    created = await images.create(disk_format="raw", container_format="bare", **attributes)
    image_id: str = created["id"]
    headers = OCTET | ({"X-Image-Meta-Store": store} if store else {})
    reply = await images.call("PUT", f"images/{image_id}/file", data=DATA, headers=headers)
    assert reply.status == 204, reply.body
    return image_id


async def copy(images: Images, image_id: str, **body: Any) -> Any:
    return await images.call(
        "POST", f"images/{image_id}/import", json={"method": {"name": "copy-image"}, **body}
    )


async def copied(images: Images, image_id: str) -> dict[str, Any]:
    """The image once no copy is under way (within 20 s), as Tempest waits for it."""
    for _ in range(200):
        image = await images.show(image_id)
        if image.get("os_glance_importing_to_stores") == "":
            return image
        await asyncio.sleep(0.1)
    raise AssertionError(f"image {image_id} is still being copied")


async def test_the_stores_are_listed_with_the_default_one(
    as_alice: Images, glance_admin: Images
) -> None:
    listed = await as_alice.call("GET", "info/stores")
    assert listed.status == 200
    found = [(s["id"], s.get("default"), s.get("description")) for s in listed.body["stores"]]
    assert found[:2] == [("default", None, None), ("fast", "true", "Fast disks")]
    assert found[2][:2] == ("cheap", None)
    assert (await as_alice.call("GET", "info/stores/detail")).status == 403
    assert (await Images(as_alice.client, None).call("GET", "info/stores")).status == 401
    detail = await glance_admin.call("GET", "info/stores/detail")
    assert detail.status == 200
    types = {s["id"]: s["type"] for s in detail.body["stores"]}
    assert types["default"] == types["fast"] == "file"
    assert types["cheap"] in ("file", "s3")
    assert "data_dir" in detail.body["stores"][1]["properties"]


async def test_an_upload_goes_to_the_store_named_else_the_default(
    as_alice: Images, stores: ImageStores
) -> None:
    to_default = await uploaded(as_alice)
    to_cheap = await uploaded(as_alice, "cheap")
    assert (await as_alice.show(to_default))["stores"] == "fast"
    assert await held_by(stores, to_default) == ["fast"]
    assert (await as_alice.show(to_cheap))["stores"] == "cheap"
    assert await held_by(stores, to_cheap) == ["cheap"]
    download = await as_alice.call("GET", f"images/{to_cheap}/file")
    assert (download.status, download.raw) == (200, DATA)

    image_id = (await as_alice.create())["id"]
    unknown = OCTET | {"X-Image-Meta-Store": "nowhere"}
    refused = await as_alice.call("PUT", f"images/{image_id}/file", data=DATA, headers=unknown)
    assert refused.status == 400
    assert (await as_alice.show(image_id))["status"] == "queued"


async def test_glance_direct_imports_to_the_stores_asked_for(
    as_alice: Images, stores: ImageStores
) -> None:
    async def staged() -> str:
        image_id: str = (await as_alice.create(disk_format="raw", container_format="bare"))["id"]
        reply = await as_alice.call("PUT", f"images/{image_id}/stage", data=DATA, headers=OCTET)
        assert reply.status == 204
        return image_id

    two = await staged()
    body: dict[str, Any] = {"method": {"name": "glance-direct"}, "stores": ["fast", "cheap"]}
    assert (await as_alice.call("POST", f"images/{two}/import", json=body)).status == 202
    image = await as_alice.show(two)
    assert (image["status"], image["stores"]) == ("active", "cheap,fast")
    assert "os_glance_failed_import" not in image
    assert await held_by(stores, two) == ["fast", "cheap"]  # the staged copy is gone

    every = await staged()
    body = {"method": {"name": "glance-direct"}, "all_stores": True}
    assert (await as_alice.call("POST", f"images/{every}/import", json=body)).status == 202
    assert (await as_alice.show(every))["stores"] == "cheap,default,fast"
    assert await held_by(stores, every) == ["default", "fast", "cheap"]

    unknown = await staged()
    body = {"method": {"name": "glance-direct"}, "stores": ["fast", "nowhere"]}
    assert (await as_alice.call("POST", f"images/{unknown}/import", json=body)).status == 409
    both = {"method": {"name": "glance-direct"}, "all_stores": True, "stores": ["fast"]}
    assert (await as_alice.call("POST", f"images/{unknown}/import", json=both)).status == 400
    direct = {"method": {"name": "glance-direct"}}
    header = {"X-Image-Meta-Store": "nowhere"}
    path = f"images/{unknown}/import"
    assert (await as_alice.call("POST", path, json=direct, headers=header)).status == 409
    assert (await as_alice.show(unknown))["status"] == "uploading"


async def test_of_two_imports_at_once_the_loser_deletes_nothing_of_the_winners(
    as_alice: Images, stores: ImageStores
) -> None:
    for _ in range(3):
        image_id = (await as_alice.create(disk_format="raw", container_format="bare"))["id"]
        reply = await as_alice.call("PUT", f"images/{image_id}/stage", data=DATA, headers=OCTET)
        assert reply.status == 204
        body = {"method": {"name": "glance-direct"}, "stores": ["fast", "cheap"]}
        path = f"images/{image_id}/import"
        replies = await asyncio.gather(*(as_alice.call("POST", path, json=body) for _ in "ab"))
        assert 202 in {r.status for r in replies}, replies
        assert (await as_alice.show(image_id))["stores"] == "cheap,fast"
        assert await held_by(stores, image_id) == ["fast", "cheap"]
        download = await as_alice.call("GET", f"images/{image_id}/file")
        assert (download.status, download.raw) == (200, DATA)


@pytest.fixture
def broken_cheap(stores: ImageStores, monkeypatch: pytest.MonkeyPatch) -> None:
    """Store `cheap` refuses every put."""

    async def refuse(key: str, *args: Any, **kwargs: Any) -> Any:
        raise BackendUnavailable(f"cheap is down, cannot store {key}")

    monkeypatch.setattr(stores.backend("cheap"), "put", refuse)


@pytest.mark.usefixtures("broken_cheap")
async def test_a_failing_store_fails_an_import_unless_others_may_do(
    as_alice: Images, stores: ImageStores
) -> None:
    image_id = (await as_alice.create(disk_format="raw", container_format="bare"))["id"]
    reply = await as_alice.call("PUT", f"images/{image_id}/stage", data=DATA, headers=OCTET)
    assert reply.status == 204
    body: dict[str, Any] = {"method": {"name": "glance-direct"}, "stores": ["fast", "cheap"]}
    failed = await as_alice.call("POST", f"images/{image_id}/import", json=body)
    assert failed.status == 503
    assert (await as_alice.show(image_id))["status"] == "uploading"
    assert await held_by(stores, image_id) == ["default"]  # staged, and nowhere else

    body["all_stores_must_succeed"] = False
    assert (await as_alice.call("POST", f"images/{image_id}/import", json=body)).status == 202
    image = await as_alice.show(image_id)
    assert (image["status"], image["stores"]) == ("active", "fast")
    assert image["os_glance_failed_import"] == "cheap"
    assert await held_by(stores, image_id) == ["fast"]


@pytest.mark.usefixtures("broken_cheap")
async def test_a_failed_copy_is_listed(as_alice: Images, stores: ImageStores) -> None:
    image_id = await uploaded(as_alice)
    reply = await copy(as_alice, image_id, all_stores=True, all_stores_must_succeed=False)
    assert reply.status == 202
    image = await copied(as_alice, image_id)
    assert image["stores"] == "default,fast"
    assert image["os_glance_failed_import"] == "cheap"
    assert await held_by(stores, image_id) == ["default", "fast"]


async def test_a_web_download_goes_to_the_stores_asked_for(
    as_alice: Images, source: str, stores: ImageStores
) -> None:
    image_id = (await as_alice.create(disk_format="raw", container_format="bare"))["id"]
    method = {"name": "web-download", "uri": f"{source}/disk.img"}
    body = {"method": method, "stores": ["cheap", "default"]}
    assert (await as_alice.call("POST", f"images/{image_id}/import", json=body)).status == 202
    image = await settled(as_alice, image_id)
    assert (image["status"], image["stores"]) == ("active", "cheap,default")
    assert image["os_hash_value"] == hashlib.sha512(WEB_DATA).hexdigest()
    assert await held_by(stores, image_id) == ["default", "cheap"]


async def test_copy_image_copies_to_more_stores(
    as_alice: Images, stores: ImageStores, store: PostgresEventStore, alice: Person
) -> None:
    image_id = await uploaded(as_alice, "fast", visibility="private")
    used = await quota.usage(store.pool, alice.project_id)
    assert (await copy(as_alice, image_id, stores=["cheap"])).status == 202
    image = await copied(as_alice, image_id)
    assert image["stores"] == "cheap,fast"
    assert image["os_glance_failed_import"] == ""
    assert await held_by(stores, image_id) == ["fast", "cheap"]
    assert (await quota.usage(store.pool, alice.project_id)).size == used.size + len(DATA)

    again = await copy(as_alice, image_id, stores=["cheap"])
    assert again.status == 400  # named stores it is already in
    assert (await copy(as_alice, image_id, stores=["nowhere"])).status == 409
    assert (await copy(as_alice, image_id, all_stores=True)).status == 202
    image = await copied(as_alice, image_id)
    assert image["stores"] == "cheap,default,fast"
    download = await as_alice.call("GET", f"images/{image_id}/file")
    assert hashlib.sha512(download.raw).hexdigest() == image["os_hash_value"]

    queued = (await as_alice.create())["id"]
    assert (await copy(as_alice, queued, stores=["cheap"])).status == 409


async def test_copies_asked_for_at_once_are_all_done(
    as_alice: Images, stores: ImageStores, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A copy asked for while another waits for the importer does not replace it."""
    started = ImageImporter._copy

    async def late(importer: ImageImporter, *args: Any) -> None:
        await asyncio.sleep(0.5)  # both copies are asked for before the first is looked at
        await started(importer, *args)

    monkeypatch.setattr(ImageImporter, "_copy", late)
    image_id = await uploaded(as_alice, "fast")
    assert (await copy(as_alice, image_id, stores=["cheap"])).status == 202
    assert (await copy(as_alice, image_id, stores=["default"])).status == 202
    image = await copied(as_alice, image_id)
    assert image["stores"] == "cheap,default,fast"
    assert await held_by(stores, image_id) == ["default", "fast", "cheap"]


async def test_deleting_from_a_store_keeps_the_others(
    as_alice: Images, stores: ImageStores
) -> None:
    image_id = await uploaded(as_alice, "fast")
    path = f"stores/fast/{image_id}"
    assert (await as_alice.call("DELETE", path)).status == 403  # its only store
    assert (await as_alice.call("DELETE", f"stores/nowhere/{image_id}")).status == 409
    await copy(as_alice, image_id, stores=["cheap"])
    await copied(as_alice, image_id)
    assert (await as_alice.call("DELETE", f"stores/default/{image_id}")).status == 404

    assert (await as_alice.call("DELETE", path)).status == 204
    assert (await as_alice.show(image_id))["stores"] == "cheap"
    assert await held_by(stores, image_id) == ["cheap"]
    download = await as_alice.call("GET", f"images/{image_id}/file")
    assert (download.status, download.raw) == (200, DATA)
    assert (await as_alice.call("DELETE", f"stores/cheap/{image_id}")).status == 403

    assert (await as_alice.call("DELETE", f"images/{image_id}")).status == 204
    assert await held_by(stores, image_id) == []


async def test_another_project_cannot_copy_or_delete_from_a_store(
    as_alice: Images, as_bob: Images, glance_admin: Images
) -> None:
    private = await uploaded(as_alice, visibility="private")
    public = await uploaded(glance_admin, visibility="public")
    assert (await copy(as_bob, private, stores=["cheap"])).status == 404
    assert (await as_bob.call("DELETE", f"stores/fast/{private}")).status == 404
    assert (await copy(as_bob, public, stores=["cheap"])).status == 403
    assert (await copy(glance_admin, public, stores=["cheap"])).status == 202
    await copied(glance_admin, public)
    assert (await as_bob.call("DELETE", f"stores/fast/{public}")).status == 403
    assert (await as_alice.show(public))["stores"] == "cheap,fast"
    assert (await glance_admin.call("DELETE", f"stores/fast/{public}")).status == 204


async def test_a_rebuilt_catalog_has_the_same_stores(
    as_alice: Images, store: PostgresEventStore
) -> None:
    kept = await uploaded(as_alice, "cheap")
    await copy(as_alice, kept, all_stores=True)
    await copied(as_alice, kept)
    assert (await as_alice.call("DELETE", f"stores/cheap/{kept}")).status == 204
    live = await as_alice.show(kept)
    assert live["stores"] == "default,fast"
    rows = "SELECT id, stores, properties, size FROM rm_images ORDER BY id"
    before = [dict(r) for r in await store.pool.fetch(rows)]
    assert await rebuild(store, ImageProjection(), inline=True) > 0
    assert [dict(r) for r in await store.pool.fetch(rows)] == before
    assert await as_alice.show(kept) == live


async def test_the_compute_host_fetches_an_image_from_a_store_that_has_it(
    as_alice: Images, stores: ImageStores, store: PostgresEventStore, tmp_path: Path
) -> None:
    image = await get_image(store.pool, await uploaded(as_alice, "cheap"))
    assert image is not None and image.location is not None
    cached = await GuestFiles(tmp_path, store, stores)._cached_image(image, image.location)
    assert cached.read_bytes() == DATA


async def test_each_copy_counts_on_the_quota(
    as_alice: Images, stores: ImageStores, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(quota.DEFAULTS, "image_size_total", 1)  # MiB
    big = secrets.token_bytes(600 * 1024)
    image_id = (await as_alice.create(disk_format="raw", container_format="bare"))["id"]
    assert (
        await as_alice.call("PUT", f"images/{image_id}/stage", data=big, headers=OCTET)
    ).status == 204
    body = {"method": {"name": "glance-direct"}, "stores": ["fast", "cheap"]}
    over = await as_alice.call("POST", f"images/{image_id}/import", json=body)
    assert over.status == 413  # twice 600 KiB
    assert (await as_alice.show(image_id))["status"] == "queued"
    assert await held_by(stores, image_id) == []

    assert (await as_alice.upload(image_id, big)).status == 204  # once fits
    assert (await copy(as_alice, image_id, stores=["cheap"])).status == 202
    image = await copied(as_alice, image_id)
    assert (image["stores"], image["os_glance_failed_import"]) == ("fast", "cheap")
    assert await held_by(stores, image_id) == ["fast"]
