"""The `web-download` import method: the importer fetches a URL's bytes over real HTTP
(a small server on loopback, which these tests allow) and activates the image, or gives
it back to `queued` saying why; and the URLs it refuses by default."""

import asyncio
import hashlib
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
from aiohttp import web

from events.postgres import PostgresEventStore
from service.config import Settings
from service.errors import BadRequest
from service.image import quota
from service.image.events import ImageImportStarted
from service.image.importer import ImageImporter
from service.image.stores import IMAGE_STORES
from service.image.web_download import check_host, check_url
from service.storage import ObjectBackend
from tests.integration.identity.conftest import Client

from .conftest import Images
from .test_data import keys

DATA = bytes(range(256)) * 4096  # 1 MiB
SOURCES: dict[str, web.Application] = {}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The cloud's settings, letting imports fetch from this machine on any port."""
    return msgspec.structs.replace(settings, image_import_local_hosts=True, image_import_ports="")


GATE = web.AppKey("gate", asyncio.Event)
ASKED = web.AppKey("asked", list[str])


@pytest.fixture
async def source() -> AsyncIterator[str]:
    """A web server with an image at /disk.img, a redirect to it, the image again at
    /held.img once the app's GATE is set, and a 404."""

    async def disk(request: web.Request) -> web.Response:
        return web.Response(body=DATA, content_type="application/octet-stream")

    async def held(request: web.Request) -> web.Response:
        await request.app[GATE].wait()
        return await disk(request)

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPFound("/disk.img")

    @web.middleware
    async def note(request: web.Request, handler: Any) -> web.StreamResponse:
        request.app[ASKED].append(request.path)
        response: web.StreamResponse = await handler(request)
        return response

    app = web.Application(middlewares=[note])
    app[GATE] = asyncio.Event()
    app[ASKED] = []
    app.router.add_get("/disk.img", disk)
    app.router.add_get("/held.img", held)
    app.router.add_get("/moved", moved)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    SOURCES[f"http://127.0.0.1:{port}"] = app
    yield f"http://127.0.0.1:{port}"
    app[GATE].set()
    await runner.cleanup()


async def web_download(images: Images, image_id: str, uri: object) -> Any:
    method = {"method": {"name": "web-download", "uri": uri}}
    return await images.call("POST", f"images/{image_id}/import", json=method)


async def settled(images: Images, image_id: str) -> dict[str, Any]:
    """The image once the importer is done with it (within 20 s)."""
    for _ in range(200):
        image = await images.show(image_id)
        if image["status"] != "importing":
            return image
        await asyncio.sleep(0.1)
    raise AssertionError(f"image {image_id} is still importing")


async def test_a_web_download_activates_the_image(
    as_alice: Images, source: str, objects: ObjectBackend
) -> None:
    image_id = (await as_alice.create(disk_format="raw", container_format="bare"))["id"]
    reply = await web_download(as_alice, image_id, f"{source}/moved")
    assert reply.status == 202, reply.body
    image = await settled(as_alice, image_id)
    assert (image["status"], image["size"]) == ("active", len(DATA))
    assert image["checksum"] == hashlib.md5(DATA).hexdigest()
    assert image["os_hash_value"] == hashlib.sha512(DATA).hexdigest()
    assert (await as_alice.call("GET", f"images/{image_id}/file")).raw == DATA
    assert await keys(objects) == [f"images/{image_id}"]
    again = await web_download(as_alice, image_id, f"{source}/disk.img")
    assert again.status == 409


async def test_a_failed_fetch_gives_the_image_back(
    as_alice: Images, source: str, store: PostgresEventStore, objects: ObjectBackend
) -> None:
    image_id = (await as_alice.create())["id"]
    assert (await web_download(as_alice, image_id, f"{source}/missing")).status == 202
    assert (await settled(as_alice, image_id))["status"] == "queued"
    events = await store.read_stream(f"image-{image_id}")
    assert "404" in getattr(events[-1].event, "reason", "")
    assert await keys(objects) == []
    retried = await web_download(as_alice, image_id, f"{source}/disk.img")
    assert retried.status == 202
    assert (await settled(as_alice, image_id))["status"] == "active"


async def test_an_import_over_quota_keeps_nothing(
    monkeypatch: pytest.MonkeyPatch, as_alice: Images, source: str, objects: ObjectBackend
) -> None:
    monkeypatch.setitem(quota.DEFAULTS, "image_size_total", 0)  # no room at all
    image_id = (await as_alice.create())["id"]
    assert (await web_download(as_alice, image_id, f"{source}/disk.img")).status == 202
    assert (await settled(as_alice, image_id))["status"] == "queued"
    assert await keys(objects) == []


async def test_bad_requests_change_nothing(as_alice: Images, as_bob: Images, source: str) -> None:
    image_id = (await as_alice.create(visibility="private"))["id"]
    for uri in ("ftp://example.com/x.img", "not a url", None):
        assert (await web_download(as_alice, image_id, uri)).status == 400
    assert (await web_download(as_bob, image_id, f"{source}/disk.img")).status == 404
    assert (await as_alice.show(image_id))["status"] == "queued"


@pytest.mark.parametrize(
    "uri",
    [
        "http://127.0.0.1/disk.img",
        "http://10.1.2.3/disk.img",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/disk.img",
        "http://localhost/disk.img",
    ],
)
async def test_the_cloud_s_own_network_is_out_of_reach_by_default(uri: str) -> None:
    settings = Settings()
    check_url(uri, settings)
    with pytest.raises(BadRequest):
        await check_host(uri, settings)


def test_only_the_usual_ports_by_default() -> None:
    with pytest.raises(BadRequest, match="ports 80, 443"):
        check_url("http://example.com:8080/disk.img", Settings())
    check_url("https://example.com/disk.img", Settings())


async def test_an_import_handled_again_after_a_restart_changes_nothing(
    as_alice: Images,
    source: str,
    store: PostgresEventStore,
    client: Client,
    settings: Settings,
) -> None:
    image_id = (await as_alice.create())["id"]
    assert (await web_download(as_alice, image_id, f"{source}/missing")).status == 202
    assert (await settled(as_alice, image_id))["status"] == "queued"
    assert (await web_download(as_alice, image_id, f"{source}/held.img")).status == 202
    first = next(
        r
        for r in await store.read_stream(f"image-{image_id}")
        if isinstance(r.event, ImageImportStarted)
    )
    # The first import is handled again (as after a restart) while the second is fetching:
    # it has been settled, so it must neither fetch again nor touch the image.
    await ImageImporter(store, client.app[IMAGE_STORES], settings).handle(None, [first])
    assert (await as_alice.show(image_id))["status"] == "importing"
    assert SOURCES[source][ASKED].count("/missing") == 1
    SOURCES[source][GATE].set()
    assert (await settled(as_alice, image_id))["status"] == "active"


async def test_an_image_s_imports_are_its_tasks(
    as_alice: Images, as_bob: Images, source: str
) -> None:
    image_id = (await as_alice.create(visibility="private"))["id"]
    assert (await as_alice.call("GET", f"images/{image_id}/tasks")).body == {"tasks": []}
    await web_download(as_alice, image_id, f"{source}/missing")
    await settled(as_alice, image_id)
    await web_download(as_alice, image_id, f"{source}/disk.img")
    await settled(as_alice, image_id)
    tasks = (await as_alice.call("GET", f"images/{image_id}/tasks")).body["tasks"]
    assert [t["status"] for t in tasks] == ["failure", "success"]
    assert "404" in tasks[0]["message"] and tasks[0]["result"] is None
    assert tasks[1]["result"] == {"image_id": image_id}
    assert tasks[1]["input"]["import_req"]["method"] == {
        "name": "web-download",
        "uri": f"{source}/disk.img",
    }
    assert {t["type"] for t in tasks} == {"api_image_import"}
    assert (await as_bob.call("GET", f"images/{image_id}/tasks")).status == 404
