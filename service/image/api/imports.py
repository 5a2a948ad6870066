"""The interoperable image import API and its two methods.

`glance-direct`: the data is staged (`PUT /v2/images/{id}/stage`, streamed into the
object backend where the image's bytes will live, hashed on the way), then imported
(`POST /v2/images/{id}/import`). Staging holds the image in `uploading`
(ImageStageStarted) until ImageStaged records the bytes, claiming them on the owner's
staging space (image_stage_total: over it, the reply is 413 and nothing is kept), or
ImageUploadAborted gives it back to `queued` with nothing kept. That import is done
before the reply (Glance runs it as a task and answers 202 at once; clients poll the
status either way): it activates the image with the staged figures, claiming their size
on the owner's quota; over quota, the staged bytes are dropped, the image is `queued`
again and the reply is 413.

`web-download`: the URL is checked (service/image/web_download.py), ImageImportStarted
holds a `queued` image in `importing` (one of the owner's concurrent uploads), and the
reply is 202 at once; the importer (service/image/importer.py) fetches the bytes and
activates the image, or gives it back to `queued`.
"""

from typing import Any

from aiohttp import web

from service.errors import BadRequest, Conflict
from service.http.body import json_response, read_json
from service.http.keys import SETTINGS
from service.http.recording import store
from service.http.socket_body import request_body
from service.image import events as ev
from service.image import stored_data, web_download
from service.image.api.common import must_see, stream
from service.image.api.data import activate, octet_stream, receive, received, start
from service.image.directory import Image

routes = web.RouteTableDef()
METHODS = ("glance-direct", "web-download")


@routes.get("/v2/info/import")
async def import_info(request: web.Request) -> web.Response:
    return json_response({"import-methods": {
        "description": "Import methods available.", "type": "array", "value": list(METHODS),
    }})  # fmt: skip


@routes.put("/v2/images/{image_id}/stage")
async def stage(request: web.Request) -> web.Response:
    octet_stream(request)
    image = await must_see(request, request.match_info["image_id"], "image:upload_image")
    if image.status != "queued":
        raise Conflict(f"Image status transition from {image.status} to uploading is not "
                       "allowed")  # fmt: skip
    body = request_body(request)
    stored = await receive(request, image, ev.ImageStageStarted(image_id=image.id), body)
    await activate(request, image.id, stored_data.staged(image.id, stored), holding="uploading")
    return received(body, web.Response(status=204))


@routes.post("/v2/images/{image_id}/import")
async def import_image(request: web.Request) -> web.Response:
    image = await must_see(request, request.match_info["image_id"], "image:upload_image")
    body = await read_json(request, dict[str, Any])
    method = body.get("method")
    name = method.get("name") if isinstance(method, dict) else None
    if name not in METHODS:
        raise BadRequest(f"Import method {name!r} is not supported; use one of: "
                         + ", ".join(METHODS))  # fmt: skip
    if name == "web-download" and isinstance(method, dict):
        return await _web_download(request, image, method.get("uri"))
    staged = await _staged(request, image.id)
    if image.status != "uploading" or staged is None:
        raise Conflict("Image needs to be staged before an import can be performed.")
    activated = ev.ImageActivated(
        image_id=image.id, location=staged.location, size=staged.size,
        checksum=staged.checksum, os_hash_algo=staged.os_hash_algo,
        os_hash_value=staged.os_hash_value,
    )  # fmt: skip
    await activate(request, image.id, activated, holding="uploading")
    return web.Response(status=202)


async def _web_download(request: web.Request, image: Image, uri: object) -> web.Response:
    """Check the URL and hold the image in `importing` for the importer; 202."""
    if not isinstance(uri, str):
        raise BadRequest("The web-download method needs a uri.")
    settings = request.config_dict[SETTINGS]
    web_download.check_url(uri, settings)
    await web_download.check_host(uri, settings)
    if image.status != "queued":
        transition = f"from {image.status} to importing"
        raise Conflict(f"Image status transition {transition} is not allowed")
    started = ev.ImageImportStarted(image_id=image.id, method="web-download", uri=uri)
    await start(request, image, started)
    return web.Response(status=202)


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
