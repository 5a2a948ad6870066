"""/v2/images/{id}/file: upload (streamed into the object backend) and download (streamed
out, whole or one byte range).

An upload holds the image in `saving` from `ImageUploadStarted` until it ends in
`ImageActivated` or, if anything fails or the client goes away, `ImageUploadAborted`
(back to `queued`, no bytes kept: backend puts are all or nothing). Whoever appends
`ImageUploadStarted` first wins; a second upload meanwhile gets 409.
"""

import asyncio
import logging
import re

from aiohttp import web

from events.types import Event
from service.auth import caller
from service.errors import Conflict, Forbidden, ServiceUnavailable, error_for_status
from service.http.recording import store
from service.image import events as ev
from service.image.api.common import must_see, objects, record
from service.image.directory import Image, get_image
from service.storage import ObjectNotFound, ObjectReader, RangeNotSatisfiable, StoredObject

log = logging.getLogger("kumo.image")
routes = web.RouteTableDef()
OCTET_STREAM = "application/octet-stream"
CHUNK_SIZE = 1024 * 1024
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
_FINISH_ATTEMPTS = 5


def data_key(image_id: str) -> str:
    """Where the object backend keeps an image's bytes."""
    return f"images/{image_id}"


@routes.put("/v2/images/{image_id}/file")
async def upload(request: web.Request) -> web.Response:
    if request.content_type != OCTET_STREAM:
        raise error_for_status(415, f"Unsupported Content-Type {request.content_type}; use "
                                    f"{OCTET_STREAM}.")  # fmt: skip
    image = await must_see(request, request.match_info["image_id"], "image:upload_image")
    if image.status != "queued":
        raise Conflict(f"Image status transition from {image.status} to saving is not allowed")
    await record(request, image.id, [ev.ImageUploadStarted(image_id=image.id)], image.version)
    key = data_key(image.id)
    try:
        stored = await objects(request).put(
            key, request.content.iter_chunked(CHUNK_SIZE), size_hint=request.content_length
        )
    except BaseException as error:
        aborted = ev.ImageUploadAborted(image_id=image.id, reason=repr(error))
        # Shielded: a cancelled request must still give the image back to `queued`.
        await asyncio.shield(_finish(request, image.id, aborted))
        raise
    if not await _finish(request, image.id, _activated(image.id, key, stored)):
        await objects(request).delete(key)
        raise error_for_status(
            410,
            f"Image {image.id} could not be found after upload. The image may have been "
            "deleted during the upload.",
        )
    return web.Response(status=204)


@routes.get("/v2/images/{image_id}/file")
async def download(request: web.Request) -> web.StreamResponse:
    image = await must_see(request, request.match_info["image_id"], "image:download_image")
    if image.status == "deactivated" and not caller(request).is_admin:
        raise Forbidden("The requested image has been deactivated. Image data download is "
                        "forbidden.")  # fmt: skip
    if image.location is None or image.status not in ("active", "deactivated"):
        return web.Response(status=204)
    byte_range = _requested_range(request, image)
    try:
        reader = await objects(request).get(image.location, byte_range=byte_range)
    except RangeNotSatisfiable:
        raise _unsatisfiable(image) from None
    except ObjectNotFound:
        log.error("image %s is active but its data at %s is missing", image.id, image.location)
        raise ServiceUnavailable(f"The data of image {image.id} is not in the store.") from None
    async with reader:
        response = _prepare(image, reader, partial=byte_range is not None)
        await response.prepare(request)
        async for chunk in reader:
            await response.write(chunk)
        await response.write_eof()
    return response


def _activated(image_id: str, key: str, stored: StoredObject) -> ev.ImageActivated:
    assert stored.hashes is not None  # put always computes them
    return ev.ImageActivated(
        image_id=image_id, location=key, size=stored.size, checksum=stored.hashes.md5,
        os_hash_algo="sha512", os_hash_value=stored.hashes.sha512,
    )  # fmt: skip


async def _finish(request: web.Request, image_id: str, event: Event) -> bool:
    """Append the event that ends an upload, if the image is still `saving` (whatever else
    changed meanwhile); False if it is not (deleted during the upload)."""
    for _ in range(_FINISH_ATTEMPTS):
        image = await get_image(store(request).pool, image_id)
        if image is None or image.status != "saving":
            return False
        try:
            await record(request, image_id, [event], image.version)
        except Conflict:
            continue
        return True
    raise Conflict(f"Image {image_id} kept changing while its upload ended; retry the upload.")


def _requested_range(request: web.Request, image: Image) -> tuple[int, int | None] | None:
    """The one byte range of the Range header (first, last), None for the whole image;
    416 for anything this server does not serve (several ranges, other units)."""
    header = request.headers.get("Range")
    if header is None:
        return None
    match = _RANGE.fullmatch(header.strip())
    if match is None or match.group(1) == match.group(2) == "":
        raise _unsatisfiable(image)
    first, last = match.group(1), match.group(2)
    if first == "":  # a suffix: the last N bytes
        size = image.size or 0
        return max(size - int(last), 0), None
    if last != "" and int(last) < int(first):
        raise _unsatisfiable(image)
    return int(first), int(last) if last else None


def _unsatisfiable(image: Image) -> Exception:
    return error_for_status(
        416,
        "Requested range not satisfiable",
        headers={"Content-Range": f"bytes */{image.size or 0}"},
    )


def _prepare(image: Image, reader: ObjectReader, *, partial: bool) -> web.StreamResponse:
    """The response head: 206 with Content-Range for a range, else 200 with Content-MD5."""
    response = web.StreamResponse(status=206 if partial else 200)
    response.content_type = OCTET_STREAM
    response.content_length = reader.content_length
    if partial:
        last = reader.offset + reader.content_length - 1
        response.headers["Content-Range"] = f"bytes {reader.offset}-{last}/{reader.size}"
    elif image.checksum is not None:
        response.headers["Content-MD5"] = image.checksum
    return response
