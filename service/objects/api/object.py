"""Object writes: PUT (streamed, md5-checked; `X-Copy-From`; `?multipart-manifest=put`),
COPY with `Destination`, POST (metadata, 202) and DELETE (`?multipart-manifest=delete`)."""

import functools
import mimetypes
from collections.abc import AsyncIterator
from urllib.parse import quote, unquote

import msgspec
from aiohttp import web

from service.errors import (
    BadRequest,
    Conflict,
    NotFound,
    PreconditionFailed,
    RequestEntityTooLarge,
    error_for_status,
)
from service.http.api import OBJECT as API
from service.http.body import body_pieces
from service.objects import acl, symlink, tempurl, versioning
from service.objects import directory as rm
from service.objects.api import formpost, versions
from service.objects.api.access import (
    Located,
    container_and_current,
    container_for,
    current,
    locate,
    reach,
    resolved,
)
from service.objects.api.bulk import delete_paths, result_response
from service.objects.api.common import (
    OBJECT_HASHES,
    auth,
    db,
    header_case,
    max_object_size,
    now,
    policies,
    project_of,
    record,
)
from service.objects.api.extract import extract
from service.objects.api.reading import OBJECT, content_of
from service.objects.api.writes import (
    Attributes,
    Version,
    copier,
    delete_current,
    delete_object,
    put_new,
    put_version,
)
from service.objects.events import ObjectMetadataUpdated
from service.objects.headers import (
    OBJECT_SYSTEM,
    check_limits,
    delete_at,
    http_date,
    metadata_change,
)
from service.objects.large_object import (
    MAX_MANIFEST_SIZE,
    SLO,
    Manifest,
    build_slo,
    read_manifest,
)
from service.objects.naming import check_object_name, object_stream, split_path
from service.storage.backend import ObjectBackend, StoredObject

routes = web.RouteTableDef()
CHUNK = 64 * 1024
NEW_OBJECT_SIZE = 64 * 1024
"""A PUT by the account's owner of at most this many bytes is stored before its container
and object are read (writes.put_new): that read is a round trip of every PUT, about a
sixth of a small one's CPU in the server, and a new name needs nothing of it."""


def _delete_at(request: web.Request) -> int | None:
    return delete_at(request.headers, now(request).timestamp())


def _content_type(request: web.Request, name: str, default: str | None = None) -> str:
    given = request.headers.get("Content-Type")
    if given and request.headers.get("X-Detect-Content-Type", "").lower() != "true":
        return given
    return default or mimetypes.guess_type(name)[0] or "application/octet-stream"


def _attributes(request: web.Request, name: str, base: rm.StoredObject | None = None) -> Attributes:
    """The new version's content type and metadata from the request, over `base`'s
    metadata for copies (unless X-Fresh-Metadata); raises BadRequest over the limits."""
    change = metadata_change(request.headers, "object", OBJECT_SYSTEM)
    fresh = request.headers.get("X-Fresh-Metadata", "").lower() in ("true", "1", "yes")
    metadata = change.applied_to({} if base is None or fresh else base.metadata)
    check_limits(metadata, "object")
    default = None if base is None else base.content_type
    return Attributes(
        content_type=_content_type(request, name, default),
        metadata=metadata,
        delete_at=_delete_at(request),
    )


def _created(version: Version, etag: str | None = None, **extra: str) -> web.Response:
    headers = {"Etag": etag or version.event.etag, "Last-Modified": http_date(version.at), **extra}
    if version.event.versioned:
        headers[versions.HEADER] = version.event.version_id
    return web.Response(status=201, headers=headers, content_type="text/html")


async def _once(body: bytes) -> AsyncIterator[bytes]:
    yield body


async def _at_most(chunks: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    """The chunks, raising RequestEntityTooLarge (nothing is then stored) once more than
    `limit` bytes came: a chunked body has no Content-Length to refuse up front."""
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise RequestEntityTooLarge("Your request is too large.")
        yield chunk


async def _read_limited(request: web.Request, limit: int) -> bytes:
    chunks, size = [], 0
    async for chunk in request.content.iter_chunked(CHUNK):
        size += len(chunk)
        if size > limit:
            raise RequestEntityTooLarge(f"Manifest File > {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _put_manifest(request: web.Request, place: Located, name: str) -> web.Response:
    manifest = await build_slo(
        db(request),
        place.container.project_id,
        await _read_limited(request, MAX_MANIFEST_SIZE),
        now(request).timestamp(),
    )
    version = await put_manifest(request, place, name, manifest, _attributes(request, name))
    return _created(version, f'"{manifest.etag}"')


async def put_manifest(
    request: web.Request, place: Located, name: str, manifest: Manifest, attrs: Attributes
) -> Version:
    """Make a checked manifest the current version of `name`, a static large object
    with the content type, metadata and expiry of `attrs`."""
    body = msgspec.json.encode(manifest.entries)
    attrs = Attributes(
        content_type=attrs.content_type,
        metadata=attrs.metadata,
        delete_at=attrs.delete_at,
        large_object=SLO,
        etag=manifest.etag,
        size=manifest.size,
    )

    async def write(backend: ObjectBackend, key: str) -> StoredObject:
        return await backend.put(key, _once(body), size_hint=len(body), hashes=OBJECT_HASHES)

    return await put_version(request, place, name, write, attrs, known_size=manifest.size)


async def _copy(
    request: web.Request, source: tuple[str, str], place: Located, name: str
) -> web.Response:
    """Copy `source` (container, object) to `name` in the place's container: server
    side for a plain object, streamed from the segments for a large one; a symlink's
    target, or with `?symlink=get` the symlink itself; for a COPY or PUT with
    `?version-id=`, that version of the source (404 for a delete marker). Bytes copied
    between containers of different storage policies move to the target's. The answer
    shows the copy's metadata (the source's, merged with the request's) as Swift's does."""
    source_container = await container_for(request, write=False, name=source[0])
    row: rm.StoredObject
    if request.method in ("COPY", "PUT") and versioning.VERSION_ID in request.query:
        version_id = request.query[versioning.VERSION_ID]
        row = await versions.version_named(request, source_container, source[1], version_id)
        if row.marker:
            raise NotFound()
    else:
        row = await current(request, source_container, source[1])
    if request.query.get("symlink") != "get":
        row, _ = await resolved(request, row)
    attrs = _attributes(request, name, row)
    content = await content_of(request, row)
    plain = is_plain(row)
    write = copier(request, content.parts, content.size, plain)
    if plain:
        attrs = Attributes(
            content_type=attrs.content_type,
            metadata=attrs.metadata,
            delete_at=attrs.delete_at,
            etag=row.etag,
        )
    else:
        attrs.metadata.pop("x-object-manifest", None)
    version = await put_version(request, place, name, write, attrs, known_size=content.size)
    return _created(
        version,
        **{header_case(k): v for k, v in attrs.metadata.items()},
        **{
            "X-Copied-From": quote(f"{source_container.name}/{row.name}"),
            "X-Copied-From-Account": quote(f"AUTH_{row.project_id}"),
            "X-Copied-From-Last-Modified": http_date(row.last_modified),
        },
    )


def is_plain(row: rm.StoredObject) -> bool:
    """Whether the object is its own bytes (not a static or dynamic large object)."""
    return row.large_object != SLO and "x-object-manifest" not in row.metadata


async def _put_symlink(request: web.Request, place: Located, name: str) -> web.Response:
    """201: an empty object leading to X-Symlink-Target (symlink.py); 400 with a body,
    409 when a static link's target is missing or has another etag."""
    chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    if request.content_length or chunked:
        raise BadRequest("Symlink requests require a zero byte body")
    target = symlink.requested(request.headers, project_of(request), place.container.name, name)
    default, target_bytes = "application/symlink", None
    if target.etag is not None:
        try:
            found = await reach(request, target, (place.container.project_id, place.container.name))
        except NotFound:
            raise Conflict("X-Symlink-Target does not exist") from None
        default, target_bytes = found.content_type, found.size
    attrs = _attributes(request, name)
    attrs = Attributes(
        content_type=_content_type(request, name, default),
        metadata=attrs.metadata | symlink.stored(target, target_bytes),
        delete_at=attrs.delete_at,
    )

    async def write(backend: ObjectBackend, key: str) -> StoredObject:
        return await backend.put(key, _once(b""), size_hint=0, hashes=OBJECT_HASHES)

    return _created(await put_version(request, place, name, write, attrs, known_size=0))


@routes.put(OBJECT)
async def put_object(request: web.Request) -> web.StreamResponse:
    """201 with Etag and Last-Modified; 422 when the body's md5 is not the ETag sent,
    411 without a length, 413 over the size limit or a quota, 404 without container.
    `?extract-archive` unpacks under the path instead (extract.py); `?version-id=` with
    no body makes a copy of that version current (a restore; 400 for `null` or a body)."""
    if versioning.VERSION_ID in request.query:
        return await _restore(request)
    if "extract-archive" in request.query:
        return await extract(
            request, f"{request.match_info['container']}/{request.match_info['object']}"
        )
    place = None if _owners_small_put(request) else await locate(request, write=True)
    name = request.match_info["object"]
    check_object_name(name)
    if place is not None and "X-Copy-From" in request.headers:
        return await _copy(
            request, split_path(unquote(request.headers["X-Copy-From"])), place, name
        )
    if place is not None and request.query.get("multipart-manifest") == "put":
        return await _put_manifest(request, place, name)
    if place is not None and "X-Symlink-Target" in request.headers:
        return await _put_symlink(request, place, name)
    chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    length = request.content_length
    if length is None and not chunked:
        raise error_for_status(411, "Missing Content-Length or Transfer-Encoding: chunked.")
    limit = max_object_size(request)
    if length is not None and length > limit:
        raise RequestEntityTooLarge("Your request is too large.")
    if request.headers.get("If-None-Match") == "*" and place is not None:
        if place.row is not None and not place.row.expired(now(request).timestamp()):
            raise PreconditionFailed()
    attrs = _attributes(request, name)
    expected = request.headers.get("ETag", "").strip('"') or None

    async def write(backend: ObjectBackend, key: str) -> StoredObject:
        chunks = _at_most(body_pieces(request), limit)
        return await backend.put(
            key, chunks, size_hint=length, expected_md5=expected, hashes=OBJECT_HASHES
        )

    if place is None:
        version = await put_new(
            request,
            project_of(request),
            request.match_info["container"],
            name,
            write,
            attrs,
            functools.partial(locate, request, write=True),
        )
    else:
        version = await put_version(request, place, name, write, attrs, known_size=length)
    return _created(version)


async def _restore(request: web.Request) -> web.Response:
    """PUT `?version-id=`: a copy of that version of the object made its current version
    (with a version id of its own), as COPY `?version-id=` to itself does."""
    if (
        request.query[versioning.VERSION_ID] == "null"
        or request.content_length
        or ("chunked" in request.headers.get("Transfer-Encoding", "").lower())
    ):
        raise BadRequest("PUT version-id requests require a zero byte body and a version")
    place = await locate(request, write=True)
    name = request.match_info["object"]
    return await _copy(request, (place.container.name, name), place, name)


def _owners_small_put(request: web.Request) -> bool:
    """Whether the request is a plain PUT of at most NEW_OBJECT_SIZE bytes by the
    account's owner (not by a temp URL; no copy, symlink, manifest or If-None-Match), while
    one storage policy is configured: one that `put_new` may store before its container
    is read (with several, where its bytes go depends on the container)."""
    length = request.content_length
    return (
        len(policies(request)) == 1
        and length is not None
        and length <= NEW_OBJECT_SIZE
        and "X-Copy-From" not in request.headers
        and "X-Symlink-Target" not in request.headers
        and "If-None-Match" not in request.headers
        and "multipart-manifest" not in request.query
        and not tempurl.is_temp_url(request)
        and acl.owns(auth(request), project_of(request))
    )


@routes.route("COPY", OBJECT)
async def copy_object(request: web.Request) -> web.Response:
    """COPY to `Destination: <container>/<object>` in the same account; 412 without it."""
    destination = request.headers.get("Destination")
    if not destination:
        raise PreconditionFailed("You must provide a Destination header.")
    container_name, name = split_path(unquote(destination))
    check_object_name(name)
    place = await locate(request, write=True, container=container_name, name=name)
    source = (request.match_info["container"], request.match_info["object"])
    return await _copy(request, source, place, name)


@routes.post(OBJECT)
async def update_object(request: web.Request) -> web.Response:
    """202: the user metadata is replaced by the request's; the content type, expiry and
    X-Object-Manifest change only when given. A symlink's change is made and answered
    307 to its target, as Swift's; 400 for X-Symlink-Target (only a PUT sets it). A form
    upload is formpost.py's."""
    if formpost.is_form(request):
        return await formpost.post_form(request)
    versions.refuse(request)
    if "X-Symlink-Target" in request.headers:
        raise BadRequest("A PUT request is required to set a symlink target")
    _, row = await container_and_current(request, write=True)
    change = metadata_change(request.headers, "object", OBJECT_SYSTEM)
    kept = {
        k: v for k, v in row.metadata.items() if k == "x-object-manifest" or k in symlink.SYSTEM
    }
    metadata = change.applied_to(kept)
    check_limits(metadata, "object")
    expiry = _delete_at(request)
    if expiry is None and "X-Remove-Delete-At" not in request.headers:
        expiry = row.delete_at
    event = ObjectMetadataUpdated(
        project_id=row.project_id,
        container=row.container,
        object=row.name,
        content_type=request.headers.get("Content-Type") or row.content_type,
        metadata=metadata,
        delete_at=expiry,
    )
    stream = object_stream(row.project_id, row.container, row.name)
    target = symlink.target_of(row.metadata)
    if target is not None:
        await record(request, stream, [event], row.stream_version, answer=307)
        return web.Response(
            status=307,
            text="The requested POST was applied to a symlink. POST directly to the target"
            " to apply requested metadata.",
            headers={"Location": API.prefix + target.swift_path},
        )
    await record(request, stream, [event], row.stream_version, answer=202)
    return web.Response(
        status=202,
        text="<html><h1>Accepted</h1><p>The request is accepted for processing.</p></html>",
        content_type="text/html",
    )


@routes.delete(OBJECT)
async def delete_object_handler(request: web.Request) -> web.Response:
    """204 (with the delete marker's id where versioning is enabled); with
    `?multipart-manifest=delete` an SLO goes with its segments (200 and a bulk-delete
    result); `?version-id=` deletes that version (versions.py)."""
    if versioning.VERSION_ID in request.query:
        return await versions.delete_version(request)
    container, row = await container_and_current(request, write=True)
    if request.query.get("multipart-manifest") == "delete" and row.large_object == SLO:
        entries = await read_manifest(policies(request), row)
        result = await delete_paths(request, row.project_id, [quote(e.name) for e in entries])
        await delete_current(request, container, row, answer=None)
        result.deleted += 1
        return result_response(request, result, "delete")
    marker = await delete_object(request, container, row)
    return web.Response(status=204, headers={} if marker is None else {versions.HEADER: marker})
