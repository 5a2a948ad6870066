"""/v2/images/{id}/file: upload (streamed into the object backend) and download (streamed
out, whole or one byte range).

An upload holds the image in `saving` from `ImageUploadStarted` until it ends in
`ImageActivated` or, if anything fails or the client goes away, `ImageUploadAborted`
(back to `queued`, no bytes kept: backend puts are all or nothing). Whoever appends
`ImageUploadStarted` first wins; a second upload meanwhile gets 409. The activation
claims the bytes on the owner's quota (service/image/quota.py); over quota, the bytes are
deleted and the upload is a 413. The bytes go to the store `X-Image-Meta-Store` names
(400 if there is none such), else the default store; a download reads them from a store
that has them (service/image/stores.py). The import API's staging (imports.py) receives
data the same way, and its end claims the staged bytes (image_stage_total) as an
activation claims stored ones.
"""

import asyncio
import logging
import re
from collections.abc import AsyncIterator

from aiohttp import web

from events.store import StreamAppend
from events.types import Event
from service.auth import caller
from service.errors import BadRequest, Conflict, Forbidden, ServiceUnavailable, error_for_status
from service.http.recording import store
from service.http.sendfile import send_object
from service.http.socket_body import SocketBody, request_body
from service.image import events as ev
from service.image import quota
from service.image.api.common import (
    discard_unheld,
    image_stores,
    must_see,
    record_claimed,
    stream,
)
from service.image.directory import Image, get_image
from service.image.format_check import check_content
from service.image.stored_data import IMAGE_HASHES, activated
from service.storage import ObjectNotFound, ObjectReader, RangeNotSatisfiable, StoredObject

log = logging.getLogger("kumo.image")
routes = web.RouteTableDef()
OCTET_STREAM = "application/octet-stream"
STORE_HEADER = "X-Image-Meta-Store"
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
_FINISH_ATTEMPTS = 5


def data_key(image_id: str) -> str:
    """Where the object backend keeps an image's bytes."""
    return f"images/{image_id}"


@routes.put("/v2/images/{image_id}/file")
async def upload(request: web.Request) -> web.Response:
    octet_stream(request)
    target = request.headers.get(STORE_HEADER, image_stores(request).default)
    if image_stores(request).get(target) is None:
        raise BadRequest(f"Store {target} is not available on this node.")
    image = await must_see(request, request.match_info["image_id"], "image:upload_image")
    if image.status != "queued":
        raise Conflict(f"Image status transition from {image.status} to saving is not allowed")
    body = request_body(request)
    stored = await receive(request, image, ev.ImageUploadStarted(image_id=image.id), body, target)
    await activate(request, image.id, activated(image.id, stored, (target,)), holding="saving")
    return received(body, web.Response(status=204))


async def receive(
    request: web.Request,
    image: Image,
    started: Event,
    body: SocketBody | AsyncIterator[bytes],
    target: str,
) -> StoredObject:
    """Stream the request `body` into store `target` under the image's data key, once
    `started` (which holds the image in `saving` or `uploading`) is appended at the image's
    version. OverQuota (413) as soon as the body is bigger than the owner's quota has room
    for (its staging space too, for a staging): before a byte is read if it has a
    Content-Length. If the put fails for any reason, the image is given back to `queued`
    with no bytes kept, and the error raised."""
    chunks = body
    if image.owner is not None:
        used = await quota.usage(store(request).pool, image.owner)
        limits = await quota.limits(store(request).pool, image.owner)
        staging = isinstance(started, ev.ImageStageStarted)
        if request.content_length is not None:  # aiohttp reads no more than that
            _check(image.owner, used, limits, request.content_length, staging=staging)
        else:
            chunks = capped(aiter(body), image.owner, used, limits, staging=staging)
    await start(request, image, started)
    key = data_key(image.id)
    backend = image_stores(request).backend(target)
    try:
        stored = await backend.put(
            key, chunks, size_hint=request.content_length, hashes=IMAGE_HASHES
        )
    except BaseException as error:
        aborted = ev.ImageUploadAborted(image_id=image.id, reason=repr(error))
        # Shielded: a cancelled request must still give the image back to `queued`.
        await asyncio.shield(finish(request, image.id, aborted, holding=started_status(started)))
        raise
    return stored


async def start(request: web.Request, image: Image, started: Event) -> None:
    """Append `started` at the image's version, claiming one of the owner's concurrent
    uploads (image_count_uploading; an import's fetch counts as one): OverQuota (413) if
    none is left, Conflict (409) if the image changed meanwhile (another upload began)."""
    appends = [StreamAppend(stream(image.id), [started], image.version)]
    for _ in range(quota.ATTEMPTS):
        if await record_claimed(request, image.owner, image.id, appends, uploading=1):
            return
    raise Conflict("Too many uploads are starting at once; retry the upload.")


async def activate(
    request: web.Request,
    image_id: str,
    event: ev.ImageActivated | ev.ImageStaged,
    *,
    holding: str,
) -> None:
    """Make the image `active` with its stored bytes (or hold them as staged), claiming
    their size on the owner's quota (or its staging space), if it is still `holding`
    (saving or uploading). If that fails (OverQuota 413, or 410 when the image was deleted
    meanwhile, or 400 from the format check) the bytes are deleted and the image, if still
    there, is `queued` again."""
    try:
        if isinstance(event, ev.ImageActivated):
            await check_content(request, event)
        finished = await finish(request, image_id, event, holding=holding)
    except BaseException as error:
        aborted = ev.ImageUploadAborted(image_id=image_id, reason=repr(error))
        await asyncio.shield(_discard(request, image_id, event, aborted, holding))
        raise
    if not finished:
        await discard_unheld(request, image_id, event.location, stored_in(event))
        done = "staging" if isinstance(event, ev.ImageStaged) else "upload"
        raise error_for_status(
            410,
            f"Image {image_id} could not be found after {done}. The image may have been "
            "deleted meanwhile.",
        )


def received(body: SocketBody | AsyncIterator[bytes], response: web.Response) -> web.Response:
    """The response to an upload of `body`: closing the connection if the body was read
    from its socket directly (aiohttp's parser would take the next request for body)."""
    if isinstance(body, SocketBody):
        body.respond(response)
    return response


def octet_stream(request: web.Request) -> None:
    """415 unless the request body is application/octet-stream."""
    if request.content_type != OCTET_STREAM:
        raise error_for_status(415, f"Unsupported Content-Type {request.content_type}; use "
                                    f"{OCTET_STREAM}.")  # fmt: skip


def started_status(started: Event) -> str:
    """The status the event that starts receiving data holds the image in."""
    return "saving" if isinstance(started, ev.ImageUploadStarted) else "uploading"


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
        reader = await image_stores(request).reader(
            image.location, image.stores, byte_range=byte_range
        )
    except RangeNotSatisfiable:
        raise _unsatisfiable(image) from None
    except ObjectNotFound:
        log.error("image %s is active but its data at %s is missing", image.id, image.location)
        raise ServiceUnavailable(f"The data of image {image.id} is not in the store.") from None
    async with reader:
        response = _prepare(image, reader, partial=byte_range is not None)
        await send_object(request, response, reader)
        await response.write_eof()
    return response


async def finish(request: web.Request, image_id: str, event: Event, *, holding: str) -> bool:
    """Append the event that ends receiving data, if the image is still `holding` (saving
    or uploading; whatever else changed meanwhile), with the claim of its bytes on the
    owner's quota if it activates the image (on its staging space if it stages them);
    False if the image is not `holding` (deleted meanwhile). OverQuota (413) when the
    bytes do not fit (as many times as the stores that keep them)."""
    for _ in range(_FINISH_ATTEMPTS):
        image = await get_image(store(request).pool, image_id)
        if image is None or image.status != holding:
            return False
        appends = [StreamAppend(stream(image_id), [event], image.version)]
        size = event.size * len(event.stores) if isinstance(event, ev.ImageActivated) else 0
        staged = event.size if isinstance(event, ev.ImageStaged) else 0
        claims = {"size": size, "staged": staged}
        try:
            if await record_claimed(request, image.owner, image_id, appends, **claims):
                return True
        except Conflict:
            continue
    raise Conflict(f"Image {image_id} kept changing while its upload ended; retry the upload.")


async def _discard(
    request: web.Request,
    image_id: str,
    stored: ev.ImageActivated | ev.ImageStaged,
    aborted: Event,
    holding: str,
) -> None:
    """Give a failed upload's image back to `queued` and delete the bytes it stored."""
    try:
        await finish(request, image_id, aborted, holding=holding)
    finally:
        await discard_unheld(request, image_id, stored.location, stored_in(stored))


def stored_in(event: ev.ImageActivated | ev.ImageStaged) -> tuple[str, ...]:
    """The stores holding the bytes an activation or a staging records (staged bytes
    wait in the default store, Kumo's object backend)."""
    return event.stores if isinstance(event, ev.ImageActivated) else (ev.DEFAULT_STORE,)


def _check(
    owner: str, used: quota.Usage, limits: quota.Limits, size: int, *, staging: bool
) -> None:
    """OverQuota unless `size` more bytes fit the owner's quota (and staging space)."""
    quota.check(owner, used, limits, size=size, staged=size if staging else 0)


async def capped(
    chunks: AsyncIterator[bytes],
    owner: str,
    used: quota.Usage,
    limits: quota.Limits,
    *,
    staging: bool,
) -> AsyncIterator[bytes]:
    """The chunks, until they pass what the owner's quota (and staging space) had left
    when the upload began: then OverQuota (413), so that an upload that cannot fit stops
    early. (The exact check is the claim at its end.)"""
    left = quota.bytes_left(used, limits, staging=staging)
    total = 0
    async for chunk in chunks:
        total += len(chunk)
        if left is not None and total > left:
            _check(owner, used, limits, total, staging=staging)
        yield chunk


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
