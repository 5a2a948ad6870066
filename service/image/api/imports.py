"""The interoperable image import API and its three methods, each to the stores the body
(`stores`, `all_stores`) or the X-Image-Meta-Store header names, else the default one.

`glance-direct`: the data is staged (`PUT /v2/images/{id}/stage`, streamed into the
default store, Kumo's object backend, hashed on the way), then imported
(`POST /v2/images/{id}/import`). Staging holds the image in `uploading`
(ImageStageStarted) until ImageStaged records the bytes, claiming them on the owner's
staging space (image_stage_total: over it, the reply is 413 and nothing is kept), or
ImageUploadAborted gives it back to `queued` with nothing kept. That import is done
before the reply (Glance runs it as a task and answers 202 at once; clients poll the
status either way): it copies the staged bytes to the other stores asked for and
activates the image with the staged figures in those stores, claiming their size on the
owner's quota once per store; over quota, the bytes are dropped, the image is `queued`
again and the reply is 413. A store that fails fails the import (503, the data staged
still) with `all_stores_must_succeed` (the default), else is left out and listed in the
image's `os_glance_failed_import`.

`web-download`: the URL is checked (service/image/web_download.py), ImageImportStarted
holds a `queued` image in `importing` (one of the owner's concurrent uploads), and the
reply is 202 at once; the importer (service/image/importer.py) fetches the bytes and
activates the image, or gives it back to `queued`.

`copy-image`: an active image's bytes are copied to more stores (admin or owner):
ImageCopyStarted and a 202 at once, and the importer copies them.
"""

from typing import Any

import msgspec
from aiohttp import web
from msgspec import UNSET, UnsetType

from service.auth import caller
from service.errors import BadRequest, Conflict, ServiceUnavailable
from service.http.body import json_response, read_json
from service.http.keys import SETTINGS
from service.http.recording import store
from service.http.socket_body import request_body
from service.image import events as ev
from service.image import stored_data, web_download
from service.image.api.common import (
    discard_unheld,
    enforce,
    image_stores,
    must_see,
    record,
    stream,
)
from service.image.api.data import STORE_HEADER, activate, octet_stream, receive, received, start
from service.image.directory import Image
from service.storage import StorageError

routes = web.RouteTableDef()
METHODS = ("glance-direct", "web-download", "copy-image")


@routes.get("/v2/info/import")
async def import_info(request: web.Request) -> web.Response:
    return json_response(
        {
            "import-methods": {
                "description": "Import methods available.",
                "type": "array",
                "value": list(METHODS),
            }
        }
    )


@routes.put("/v2/images/{image_id}/stage")
async def stage(request: web.Request) -> web.Response:
    octet_stream(request)
    image = await must_see(request, request.match_info["image_id"], "image:upload_image")
    if image.status != "queued":
        raise Conflict(f"Image status transition from {image.status} to uploading is not allowed")
    body = request_body(request)
    started = ev.ImageStageStarted(image_id=image.id)
    stored = await receive(request, image, started, body, ev.DEFAULT_STORE)
    await activate(request, image.id, stored_data.staged(image.id, stored), holding="uploading")
    return received(body, web.Response(status=204))


class ImportRequest(msgspec.Struct, frozen=True):
    """The body of an import: the method, and the stores to import or copy to."""

    method: dict[str, Any] = {}
    stores: list[str] | UnsetType = UNSET
    all_stores: bool = False
    all_stores_must_succeed: bool = True


@routes.post("/v2/images/{image_id}/import")
async def import_image(request: web.Request) -> web.Response:
    image = await must_see(request, request.match_info["image_id"])
    body = await read_json(request, ImportRequest)
    name = body.method.get("name")
    if name not in METHODS:
        raise BadRequest(
            f"Import method {name!r} is not supported; use one of: " + ", ".join(METHODS)
        )
    enforce(
        caller(request), "image:copy_image" if name == "copy-image" else "image:upload_image", image
    )
    targets = _targets(request, body)
    if name == "copy-image":
        return await _copy(request, image, body, targets)
    if name == "web-download":
        return await _web_download(request, image, body, targets)
    staged = await _staged(request, image.id)
    if image.status != "uploading" or staged is None:
        raise Conflict("Image needs to be staged before an import can be performed.")
    stores = image_stores(request)
    try:
        kept, failed = await stores.spread(
            staged.location,
            ev.DEFAULT_STORE,
            targets,
            staged.checksum,
            all_must_succeed=body.all_stores_must_succeed,
        )
    except StorageError as error:
        raise ServiceUnavailable(f"Image {image.id} could not be imported: {error}") from None
    activated = ev.ImageActivated(
        image_id=image.id,
        location=staged.location,
        size=staged.size,
        checksum=staged.checksum,
        os_hash_algo=staged.os_hash_algo,
        os_hash_value=staged.os_hash_value,
        stores=kept,
        failed_stores=failed,
    )
    try:
        await activate(request, image.id, activated, holding="uploading")
    finally:
        if ev.DEFAULT_STORE not in kept:  # the staged copy, no longer needed
            await discard_unheld(request, image.id, staged.location, (ev.DEFAULT_STORE,))
    return web.Response(status=202)


def _targets(request: web.Request, body: ImportRequest) -> tuple[str, ...]:
    """The stores an import or copy asks for, as Glance reads them: `all_stores`, else
    `stores`, else the X-Image-Meta-Store header, else the default store. BadRequest (400)
    for two of those at once, Conflict (409) for a store that does not exist."""
    stores = image_stores(request)
    header = request.headers.get(STORE_HEADER)
    if body.all_stores:
        if body.stores is not UNSET or header is not None:
            raise BadRequest(
                "All_stores parameter can't be used with x-image-meta-store header or stores "
                "parameter"
            )
        return tuple(store.id for store in stores)
    if body.stores is UNSET:
        wanted = [header or stores.default]
    elif header is not None:
        raise BadRequest("Stores parameter and x-image-meta-store header can't be both specified")
    else:
        wanted = body.stores
    for store_id in wanted:
        if stores.get(store_id) is None:
            raise Conflict(f"Store {store_id} is not available on this node.")
    return tuple(dict.fromkeys(wanted))


async def _copy(
    request: web.Request, image: Image, body: ImportRequest, targets: tuple[str, ...]
) -> web.Response:
    """Start copying an active image's bytes to `targets` (those it is already in are
    left out of `all_stores`; named ones are a 400); the importer copies them; 202."""
    if image.status != "active":
        raise Conflict("Only images with status active can be targeted for copying")
    present = [store for store in targets if store in image.stores]
    if present and not body.all_stores:
        raise BadRequest(f"Image is already present at store '{present[0]}'")
    started = ev.ImageCopyStarted(
        image_id=image.id,
        stores=tuple(store for store in targets if store not in present),
        all_stores_must_succeed=body.all_stores_must_succeed,
    )
    await record(request, image.id, [started], image.version)
    return web.Response(status=202)


async def _web_download(
    request: web.Request, image: Image, body: ImportRequest, targets: tuple[str, ...]
) -> web.Response:
    """Check the URL and hold the image in `importing` for the importer; 202."""
    uri = body.method.get("uri")
    if not isinstance(uri, str):
        raise BadRequest("The web-download method needs a uri.")
    await check_download_url(request, uri)
    started = ev.ImageImportStarted(
        image_id=image.id,
        method="web-download",
        uri=uri,
        stores=targets,
        all_stores_must_succeed=body.all_stores_must_succeed,
    )
    await start_web_download(request, image, started)
    return web.Response(status=202)


async def check_download_url(request: web.Request, uri: str) -> None:
    """BadRequest (400) unless a web-download may fetch `uri` (service/image/web_download.py)."""
    settings = request.config_dict[SETTINGS]
    web_download.check_url(uri, settings)
    await web_download.check_host(uri, settings)


async def start_web_download(
    request: web.Request, image: Image, started: ev.ImageImportStarted
) -> None:
    """Hold the `queued` image in `importing` for the importer (Conflict, 409, if it is
    not `queued`), claiming one of its owner's concurrent uploads."""
    if image.status != "queued":
        transition = f"from {image.status} to importing"
        raise Conflict(f"Image status transition {transition} is not allowed")
    await start(request, image, started)


async def _staged(request: web.Request, image_id: str) -> ev.ImageStaged | None:
    """What the image's current staging stored, from its stream; None if nothing is
    staged (never, or the staging since aborted)."""
    found: ev.ImageStaged | None = None
    for recorded in await store(request).read_stream(stream(image_id)):
        match recorded.event:
            case ev.ImageStaged() as staged:
                found = staged
            case ev.ImageUploadAborted() | ev.ImageActivated():
                found = None
    return found
