"""Object GET and HEAD: conditional requests, byte ranges (one, or several as
multipart/byteranges), and large objects assembled from their segments."""

from collections.abc import Mapping
from contextlib import aclosing
from types import MappingProxyType

import msgspec
from aiohttp import web

from service.http.api import OBJECT as API
from service.http.sendfile import body_of, send_object
from service.objects import directory as rm
from service.objects import symlink, tempurl, versioning
from service.objects.api import staticweb, versions
from service.objects.api.access import container_and_current, resolved
from service.objects.api.common import db, header_case, new_version_id, now, policies
from service.objects.conditions import not_modified
from service.objects.headers import OBJECT_SYSTEM, http_date, x_timestamp
from service.objects.large_object import (
    SLO,
    combined_etag,
    dlo_segments,
    part_of,
    read_manifest,
    slo_parts,
)
from service.objects.ranges import parse_ranges
from service.objects.segments import Part, part_readers, read_parts

routes = web.RouteTableDef()
OBJECT = "/v1/AUTH_{project_id}/{container}/{object:.+}"
SMALL_BODY = 64 * 1024
"""A whole object up to this size is read before the answer starts, so that its headers
and bytes leave in one write (a stream writes headers, each chunk and its end apart)."""


class Content(msgspec.Struct, frozen=True):
    """What a GET serves: the blobs in order, their total size, and the etag to show."""

    parts: list[Part]
    size: int
    etag: str


async def content_of(request: web.Request, row: rm.StoredObject) -> Content:
    """The bytes behind an object: itself, or its SLO or DLO segments (quoted etag)."""
    at = now(request).timestamp()
    if row.large_object == SLO:
        parts = await slo_parts(db(request), policies(request), row, at)
        return Content(parts, row.size, f'"{row.etag}"')
    manifest = row.metadata.get("x-object-manifest")
    if manifest is not None:
        segments = await dlo_segments(db(request), row.project_id, manifest, at)
        parts = [part_of(s) for s in segments]
        return Content(
            parts, sum(p.size for p in parts), f'"{combined_etag([s.etag for s in segments])}"'
        )
    return Content([part_of(row)], row.size, row.etag)


def object_headers(row: rm.StoredObject, etag: str) -> dict[str, str]:
    """The headers describing an object in GET and HEAD answers (no length)."""
    headers = {
        "Content-Type": row.content_type,
        "Etag": etag,
        "Last-Modified": http_date(row.last_modified),
        "X-Timestamp": x_timestamp(row.last_modified),
        "Accept-Ranges": "bytes",
    }
    for name, value in row.metadata.items():
        if name.startswith("x-object-meta-") or name in OBJECT_SYSTEM:
            headers[header_case(name)] = value
    if row.delete_at is not None:
        headers["X-Delete-At"] = str(row.delete_at)
    if row.large_object == SLO:
        headers["X-Static-Large-Object"] = "True"
    return headers


async def _send(
    request: web.Request,
    response: web.StreamResponse,
    parts: list[Part],
    ranges: list[tuple[int, int]],
    heads: list[bytes],
    tail: bytes = b"",
) -> web.StreamResponse:
    """The response with each range of the parts (first, last byte) after its head as
    its body, then `tail`; a local blob's bytes go by sendfile (service/http/sendfile.py)."""
    async with body_of(request, response):
        for (first, last), head in zip(ranges, heads, strict=True):
            if head:
                await response.write(head)
            async with aclosing(part_readers(policies(request), parts, first, last)) as readers:
                async for reader in readers:
                    await send_object(request, response, reader)
        if tail:
            await response.write(tail)
    await response.write_eof()
    return response


def _shown_headers(request: web.Request, row: rm.StoredObject, etag: str) -> dict[str, str]:
    """`object_headers`, as a temp URL shows them (tempurl.shown, answer_headers)."""
    headers = object_headers(row, etag)
    if not tempurl.is_temp_url(request):
        return headers
    own = headers.get("Content-Disposition")
    return tempurl.shown(headers) | tempurl.answer_headers(request, own)


async def serve(
    request: web.Request,
    row: rm.StoredObject,
    content: Content,
    headers: dict[str, str],
    status: int = 200,
) -> web.StreamResponse:
    """The object's bytes, or the ranges asked for, with `headers` (and `status` when
    whole: a static web site's error page is its error's)."""
    ranges = parse_ranges(request.headers.get("Range"), content.size)
    size, parts = content.size, content.parts
    if ranges is None:
        if size <= SMALL_BODY:
            chunks = read_parts(policies(request), parts, 0, size - 1)
            body = b"".join([c async for c in chunks])
            return web.Response(status=status, headers=headers, body=body)
        response = web.StreamResponse(status=status, headers=headers)
        response.content_length = size
        return await _send(request, response, parts, [(0, size - 1)], [b""])
    if len(ranges) == 1:
        ((first, last),) = ranges
        headers["Content-Range"] = f"bytes {first}-{last}/{size}"
        response = web.StreamResponse(status=206, headers=headers)
        response.content_length = last - first + 1
        return await _send(request, response, parts, ranges, [b""])
    boundary = new_version_id(request)
    heads = [
        (
            f"--{boundary}\r\nContent-Type: {row.content_type}\r\n"
            f"Content-Range: bytes {first}-{last}/{size}\r\n\r\n"
        ).encode()
        for first, last in ranges
    ]
    heads = [heads[0]] + [b"\r\n" + h for h in heads[1:]]
    tail = f"\r\n--{boundary}--".encode()
    headers["Content-Type"] = f"multipart/byteranges;boundary={boundary}"
    response = web.StreamResponse(status=206, headers=headers)
    response.content_length = (
        sum(len(h) for h in heads) + len(tail) + sum(last - first + 1 for first, last in ranges)
    )
    return await _send(request, response, parts, ranges, heads, tail)


async def _manifest(request: web.Request, row: rm.StoredObject) -> web.Response:
    """`?multipart-manifest=get` of an SLO: its stored manifest as JSON."""
    entries = await read_manifest(policies(request), row)
    headers = object_headers(row, row.etag)
    headers["Content-Type"] = "application/json; charset=utf-8"
    body = msgspec.json.encode(entries)
    return web.Response(body=None if request.method == "HEAD" else body, headers=headers)


async def _followed(
    request: web.Request, row: rm.StoredObject
) -> tuple[rm.StoredObject, dict[str, str]]:
    """The object to answer with and what a symlink adds: its target and
    Content-Location, or (`?symlink=get`) itself and its X-Symlink-Target headers."""
    if request.query.get("symlink") == "get":
        return row, symlink.headers_of(row.metadata)
    found, target = await resolved(request, row)
    if target is None:
        return found, {}
    return found, {"Content-Location": API.prefix + target.swift_path}


@routes.get(OBJECT)
async def get_object(request: web.Request) -> web.StreamResponse:
    """The object, as `answer`s; 404 when absent or expired. An anonymous request of a
    static web site is staticweb.py's; `?version-id=` reads one version (versions.py)."""
    if staticweb.applies(request):
        return await staticweb.get_object(request, answer)
    if versioning.VERSION_ID in request.query:
        return await versions.get_version(request, answer)
    container, row = await container_and_current(request, write=False)
    return await answer(request, row, shown=versions.shown(container, row))


async def answer(
    request: web.Request,
    row: rm.StoredObject,
    status: int = 200,
    *,
    shown: Mapping[str, str] = MappingProxyType({}),
) -> web.StreamResponse:
    """`status` with the bytes (none for HEAD), 206 for ranges, 304 when not modified,
    412 when a precondition fails, 416 when no range is satisfiable, with the `shown`
    headers too. A symlink answers with its target (and Content-Location), or with
    itself and X-Symlink-Target for `?symlink=get`."""
    row, extra = await _followed(request, row)
    extra = {**extra, **shown}
    if request.query.get("multipart-manifest") == "get" and row.large_object == SLO:
        return await _manifest(request, row)
    content = await content_of(request, row)
    if not_modified(request.headers, request.method, content.etag, row.last_modified):
        headers = object_headers(row, content.etag) | extra
        return web.Response(status=304, headers=headers)
    headers = _shown_headers(request, row, content.etag) | extra
    if request.method == "HEAD":
        response = web.StreamResponse(status=status, headers=headers)
        response.content_length = content.size
        await response.prepare(request)
        await response.write_eof()
        return response
    return await serve(request, row, content, headers, status)
