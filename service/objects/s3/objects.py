"""Objects: PutObject (streamed; Content-MD5 and a signed payload checked), CopyObject,
GetObject and HeadObject (ranges, conditions), DeleteObject and DeleteObjects, through
the object API's own reads and writes (same events, quotas, read models, backends)."""

import mimetypes
from urllib.parse import unquote

from aiohttp import web

from service.errors import ApiError, NotFound, RequestEntityTooLarge, error_for_status
from service.objects import directory as rm
from service.objects.api.access import Located, container_for, current, locate, resolved
from service.objects.api.bulk import delete_paths
from service.objects.api.common import max_object_size, now
from service.objects.api.object import is_plain
from service.objects.api.reading import answer, content_of
from service.objects.api.writes import (
    Attributes,
    Version,
    copier,
    delete_object,
    keeps,
    put_version,
)
from service.objects.headers import check_limits
from service.objects.naming import check_object_name, split_path
from service.objects.s3 import document
from service.objects.s3.body import (
    body_length,
    check_stored,
    content_md5,
    hashes_for,
    pieces,
    read_small,
)
from service.objects.s3.errors import MalformedXML, NoSuchBucket, NoSuchKey
from service.objects.s3.uploads import parts_of
from service.storage.backend import ObjectBackend, StoredObject

S3_META = "x-amz-meta-"
SWIFT_META = "x-object-meta-"
"""User metadata is kept as Swift keeps it, so that either API shows it."""
MAX_DELETE = 1000


async def place_of(request: web.Request, key: str, *, write: bool) -> Located:
    """`key`'s place in the path's bucket once the caller may read or `write` it (403);
    NoSuchBucket when the bucket does not exist."""
    try:
        return await locate(
            request, write=write, container=request.match_info["container"], name=key
        )
    except NotFound:
        raise NoSuchBucket() from None


def _unexpired(request: web.Request, row: rm.StoredObject | None) -> rm.StoredObject:
    if row is None or row.expired(now(request).timestamp()):
        raise NoSuchKey()
    return row


def _metadata(request: web.Request) -> dict[str, str]:
    """The request's x-amz-meta-* headers, as Swift's object metadata; 400 over its limits."""
    metadata = {
        SWIFT_META + name.lower()[len(S3_META) :]: value
        for name, value in request.headers.items()
        if name.lower().startswith(S3_META)
    }
    check_limits(metadata, "object")
    return metadata


def _content_type(request: web.Request, key: str) -> str:
    return (
        request.headers.get("Content-Type") or mimetypes.guess_type(key)[0] or "binary/octet-stream"
    )


async def get_object(request: web.Request) -> web.StreamResponse:
    """The object's bytes (GET) or headers (HEAD) as Swift's GET gives them: ranges
    (206; 416 InvalidRange), conditions (304; 412); NoSuchBucket, NoSuchKey."""
    place = await place_of(request, request.match_info["object"], write=False)
    return await answer(request, _unexpired(request, place.row))


async def put_object(request: web.Request) -> web.Response:
    """PutObject, or CopyObject with x-amz-copy-source: 200 with the ETag; 411 without a
    length, 400 EntityTooLarge over the size limit or a quota, 400 BadDigest when the
    md5 is not the Content-MD5, XAmzContentSHA256Mismatch when the SHA-256 is not the
    signed one (nothing is kept)."""
    key = request.match_info["object"]
    check_object_name(key)
    if "x-amz-copy-source" in request.headers:
        return await _copy(request, key)
    attrs = new_attributes(request)
    place = await place_of(request, key, write=True)
    version = await store_body(request, place, key, attrs)
    return web.Response(headers={"ETag": document.etag(version.event.etag)})


def new_attributes(request: web.Request) -> Attributes:
    """The content type and metadata a new object gets from the request."""
    return Attributes(
        content_type=_content_type(request, request.match_info["object"]),
        metadata=_metadata(request),
    )


async def store_body(request: web.Request, place: Located, name: str, attrs: Attributes) -> Version:
    """The request's body made the current version of `name` in the place's container,
    as a PutObject does (411, 400 EntityTooLarge, BadDigest, XAmzContentSHA256Mismatch;
    nothing kept on failure)."""
    length = body_length(request)
    if length is None:
        raise error_for_status(411, "You must provide the Content-Length HTTP header.")
    if length > max_object_size(request):
        raise RequestEntityTooLarge("Your proposed upload exceeds the maximum allowed size.")
    expected_md5 = content_md5(request)

    async def write(backend: ObjectBackend, blob: str) -> StoredObject:
        stored = await backend.put(
            blob,
            pieces(request),
            size_hint=length,
            expected_md5=expected_md5,
            hashes=hashes_for(request),
        )
        return await check_stored(request, backend, stored)

    return await put_version(request, place, name, write, attrs, known_size=length, answer=200)


async def copy_source(request: web.Request) -> rm.StoredObject:
    """The object x-amz-copy-source names (`bucket/key`, URL-encoded) in the caller's
    project, symlinks followed, once the caller may read it; NoSuchBucket, NoSuchKey."""
    source = unquote(request.headers["x-amz-copy-source"].partition("?")[0])
    bucket, name = split_path(source)
    try:
        source_bucket = await container_for(request, write=False, name=bucket)
    except NotFound:
        raise NoSuchBucket() from None
    try:
        row, _ = await resolved(request, await current(request, source_bucket, name))
    except NotFound:
        raise NoSuchKey() from None
    return row


async def _copy(request: web.Request, key: str) -> web.Response:
    """CopyObject: the source's bytes (and, unless x-amz-metadata-directive is REPLACE,
    its content type and metadata) as `key`; CopyObjectResult with its ETag."""
    row = await copy_source(request)
    place = await place_of(request, key, write=True)
    content = await content_of(request, row)
    plain = is_plain(row)
    replace = request.headers.get("x-amz-metadata-directive", "COPY").upper() == "REPLACE"
    attrs = Attributes(
        content_type=_content_type(request, key) if replace else row.content_type,
        metadata=_metadata(request) if replace else row.metadata,
        etag=row.etag if plain else None,
    )
    write = copier(request, content.parts, content.size, plain)
    version = await put_version(
        request, place, key, write, attrs, known_size=content.size, answer=200
    )
    return document.answer(
        "CopyObjectResult",
        document.element("LastModified", document.timestamp(version.at)),
        document.element("ETag", document.etag(version.event.etag)),
    )


async def delete_key(request: web.Request) -> web.Response:
    """DeleteObject: 204, whether the key existed or not; NoSuchBucket."""
    await delete_key_named(request, request.match_info["object"])
    return web.Response(status=204)


async def delete_objects(request: web.Request) -> web.Response:
    """DeleteObjects (POST ?delete): each key deleted as DeleteObject does, the result
    per key (only the errors when Quiet); 400 MalformedXML past 1,000 keys."""
    tree = document.parse(await read_small(request), "Delete")
    keys = [node.findtext("Key") or "" for node in tree.findall("Object")]
    if not keys or len(keys) > MAX_DELETE:
        raise MalformedXML(f"Delete between 1 and {MAX_DELETE} keys.")
    quiet = (tree.findtext("Quiet") or "").lower() == "true"
    results = []
    for key in keys:
        try:
            await delete_key_named(request, key)
        except ApiError as error:
            results.append(_delete_error(key, error))
        else:
            if not quiet:
                results.append(document.nested("Deleted", document.element("Key", key)))
    return document.answer("DeleteResult", *results)


async def delete_key_named(request: web.Request, key: str) -> None:
    """Delete `key` of the path's bucket if it is there, and its parts unless it is kept
    as a noncurrent version."""
    check_object_name(key)
    place = await place_of(request, key, write=True)
    if place.row is not None:
        kept = keeps(place.container, place.row)
        parts = [] if kept else await parts_of(request, place.row)
        await delete_object(request, place.container, place.row)
        await delete_paths(request, place.row.project_id, parts)


def _delete_error(key: str, error: ApiError) -> str:
    code = error.s3_code or ("AccessDenied" if error.code in (401, 403) else "InternalError")
    return document.nested(
        "Error",
        document.element("Key", key),
        document.element("Code", code),
        document.element("Message", error.message),
    )
