"""Multipart uploads, as static large objects: CreateMultipartUpload (a marker keeping
the object's content type and metadata), UploadPart (each part an object of the
bucket's segments container, written as PutObject writes), ListParts,
CompleteMultipartUpload (the object becomes an SLO of the parts named) and
AbortMultipartUpload (marker and parts deleted); UploadPartCopy copies a part from an
object (or a range of it); ListMultipartUploads lists the uploads in progress. See
uploads.py for the names."""

import re
from collections.abc import AsyncIterator
from urllib.parse import quote

import msgspec
from aiohttp import web

from service.errors import BadRequest
from service.objects import directory as rm
from service.objects.api.access import Located, locate
from service.objects.api.bulk import delete_paths
from service.objects.api.common import (
    OBJECT_HASHES,
    db,
    new_version_id,
    now,
    policies,
    project_of,
    record,
)
from service.objects.api.object import is_plain, put_manifest
from service.objects.api.reading import content_of
from service.objects.api.writes import Attributes, copier, put_version, remove
from service.objects.events import ContainerCreated
from service.objects.large_object import MAX_MANIFEST_SEGMENTS, build_slo
from service.objects.naming import check_object_name, container_stream
from service.objects.s3 import document
from service.objects.s3.body import read_small
from service.objects.s3.buckets import readable_bucket
from service.objects.s3.errors import (
    EntityTooSmall,
    InvalidArgument,
    InvalidPart,
    InvalidPartOrder,
    MalformedXML,
    NoSuchUpload,
)
from service.objects.s3.objects import copy_source, new_attributes, place_of, store_body
from service.objects.s3.uploads import marker_name, part_name, segments_of
from service.objects.segments import read_parts
from service.storage.backend import ObjectBackend, StoredObject

MIN_PART_SIZE = 5 * 1024 * 1024
"""The smallest part but the last, as S3's."""
MAX_PART_NUMBER = 10000
_UPLOAD_ID = re.compile(r"[0-9a-f]{32}")
"""An upload id (the object API's version ids)."""
_PART = Attributes(content_type="application/octet-stream")
"""What a part is besides its bytes."""
_PAGE = 1000


class Upload(msgspec.Struct, frozen=True):
    """A multipart upload in progress: its key, its id, and its marker."""

    key: str
    upload_id: str
    marker: rm.StoredObject

    @property
    def parts_prefix(self) -> str:
        return marker_name(self.key, self.upload_id) + "/"


def _segments(request: web.Request) -> str:
    return segments_of(request.match_info["container"])


async def _in_segments(request: web.Request, name: str) -> Located:
    """`name`'s place in the bucket's segments container, once the caller may write it."""
    return await locate(request, write=True, container=_segments(request), name=name)


async def _upload(request: web.Request) -> Upload:
    """The path's upload (?uploadId) once the caller may write the bucket (403,
    NoSuchBucket); NoSuchUpload when it is not in progress."""
    key, upload_id = request.match_info["object"], request.query["uploadId"]
    await place_of(request, key, write=True)
    found = await rm.stored_object(
        db(request), project_of(request), _segments(request), marker_name(key, upload_id)
    )
    if found is None or found.expired(now(request).timestamp()):
        raise NoSuchUpload()
    return Upload(key, upload_id, found)


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield


async def create_upload(request: web.Request) -> web.Response:
    """CreateMultipartUpload: a new upload id (the bucket's segments container made
    first if need be, under the bucket's storage policy); NoSuchBucket, AccessDenied."""
    key = request.match_info["object"]
    check_object_name(key)
    attrs = new_attributes(request)
    bucket = (await place_of(request, key, write=True)).container
    project_id, segments = project_of(request), _segments(request)
    if await rm.container(db(request), project_id, segments) is None:
        event = ContainerCreated(
            project_id=project_id,
            container=segments,
            metadata={},
            storage_policy=bucket.storage_policy,
        )
        await record(request, container_stream(project_id, segments), [event])
    upload_id = new_version_id(request)
    marker = marker_name(key, upload_id)

    async def write(backend: ObjectBackend, blob: str) -> StoredObject:
        return await backend.put(blob, _nothing(), size_hint=0, hashes=OBJECT_HASHES)

    place = await _in_segments(request, marker)
    await put_version(request, place, marker, write, attrs, known_size=0, answer=200)
    return document.answer(
        "InitiateMultipartUploadResult",
        document.element("Bucket", request.match_info["container"]),
        document.element("Key", key),
        document.element("UploadId", upload_id),
    )


def _part_number(given: str | None) -> int:
    if given is None or not given.isdigit() or not 1 <= int(given) <= MAX_PART_NUMBER:
        raise InvalidArgument(f"Part number must be an integer between 1 and {MAX_PART_NUMBER}.")
    return int(given)


async def upload_part(request: web.Request) -> web.Response:
    """UploadPart: the body stored as the part, as PutObject stores it; 200 with its ETag."""
    number = _part_number(request.query.get("partNumber"))
    upload = await _upload(request)
    name = part_name(upload.key, upload.upload_id, number)
    place = await _in_segments(request, name)
    if "x-amz-copy-source" in request.headers:
        return await _copy_part(request, place, name)
    version = await store_body(request, place, name, _PART)
    return web.Response(headers={"ETag": document.etag(version.event.etag)})


def _copy_range(request: web.Request, size: int) -> tuple[int, int] | None:
    """The first and last byte x-amz-copy-source-range asks for (None: all of it);
    InvalidArgument unless it is `bytes=first-last` within the source."""
    given = request.headers.get("x-amz-copy-source-range")
    if given is None:
        return None
    first, _, last = given.removeprefix("bytes=").partition("-")
    if not (first.isdigit() and last.isdigit() and int(first) <= int(last) < size):
        raise InvalidArgument(f"The x-amz-copy-source-range {given!r} is not within the source.")
    return int(first), int(last)


async def _copy_part(request: web.Request, place: Located, name: str) -> web.Response:
    """UploadPartCopy: the part is the source object, or the bytes of it that
    x-amz-copy-source-range names; CopyPartResult with its ETag."""
    row = await copy_source(request)
    content = await content_of(request, row)
    span = _copy_range(request, content.size)
    if span is None:
        plain = is_plain(row)
        write = copier(request, content.parts, content.size, plain)
        attrs = Attributes(content_type=_PART.content_type, etag=row.etag if plain else None)
        size = content.size
    else:
        first, last = span
        size = last - first + 1

        async def write(backend: ObjectBackend, blob: str) -> StoredObject:
            chunks = read_parts(policies(request), content.parts, first, last)
            return await backend.put(blob, chunks, size_hint=size, hashes=OBJECT_HASHES)

        attrs = _PART
    version = await put_version(request, place, name, write, attrs, known_size=size, answer=200)
    return document.answer(
        "CopyPartResult",
        document.element("LastModified", document.timestamp(version.at)),
        document.element("ETag", document.etag(version.event.etag)),
    )


class _Named(msgspec.Struct, frozen=True):
    number: int
    etag: str


def _named_parts(body: bytes) -> list[_Named]:
    """The parts a CompleteMultipartUpload body names, in its order; MalformedXML."""
    tree = document.parse(body, "CompleteMultipartUpload")
    named = []
    for node in tree.findall("Part"):
        number, etag = node.findtext("PartNumber"), node.findtext("ETag")
        if number is None or not number.isdigit() or etag is None:
            raise MalformedXML("Each Part needs a PartNumber and an ETag.")
        named.append(_Named(int(number), etag.strip().strip('"')))
    if not named or len(named) > MAX_MANIFEST_SEGMENTS:
        raise MalformedXML(f"Complete an upload of 1 to {MAX_MANIFEST_SEGMENTS} parts.")
    return named


async def complete_upload(request: web.Request) -> web.Response:
    """CompleteMultipartUpload: the object becomes a static large object of the parts
    named (InvalidPart when one is missing or has another ETag, InvalidPartOrder,
    EntityTooSmall under 5 MiB but the last), with the upload's content type and
    metadata; the upload's marker and unnamed parts go."""
    upload = await _upload(request)
    named = _named_parts(await read_small(request))
    numbers = [p.number for p in named]
    if numbers != sorted(set(numbers)):
        raise InvalidPartOrder()
    folder = f"/{_segments(request)}/"
    specs = [
        {"path": folder + part_name(upload.key, upload.upload_id, p.number), "etag": p.etag}
        for p in named
    ]
    try:
        manifest = await build_slo(
            db(request), project_of(request), msgspec.json.encode(specs), now(request).timestamp()
        )
    except BadRequest as error:
        raise InvalidPart(error.message) from None
    if any(entry.bytes < MIN_PART_SIZE for entry in manifest.entries[:-1]):
        raise EntityTooSmall()
    marker = upload.marker
    attrs = Attributes(content_type=marker.content_type, metadata=marker.metadata)
    place = await place_of(request, upload.key, write=True)
    version = await put_manifest(request, place, upload.key, manifest, attrs)
    kept = {entry.name for entry in manifest.entries}
    await _delete_parts(request, upload, kept)
    await remove(request, marker)
    return document.answer(
        "CompleteMultipartUploadResult",
        document.element("Location", request.path),
        document.element("Bucket", request.match_info["container"]),
        document.element("Key", upload.key),
        document.element("ETag", document.etag(version.event.etag)),
    )


async def _parts(
    request: web.Request, upload: Upload, after: int, limit: int
) -> list[rm.StoredObject]:
    page = rm.Page(
        prefix=upload.parts_prefix,
        marker=part_name(upload.key, upload.upload_id, after) if after else "",
    )
    return await rm.objects_page(
        db(request), project_of(request), _segments(request), page, limit, now(request).timestamp()
    )


async def _delete_parts(request: web.Request, upload: Upload, kept: set[str]) -> None:
    """Delete the upload's parts but those `kept` (their /container/name paths)."""
    after = 0
    while parts := await _parts(request, upload, after, _PAGE):
        paths = [f"/{p.container}/{p.name}" for p in parts]
        await delete_paths(request, project_of(request), [quote(p) for p in paths if p not in kept])
        after = int(parts[-1].name.rpartition("/")[2])


async def abort_upload(request: web.Request) -> web.Response:
    """AbortMultipartUpload: its parts and marker deleted; 204, NoSuchUpload."""
    upload = await _upload(request)
    await _delete_parts(request, upload, set())
    await remove(request, upload.marker, answer=204)
    return web.Response(status=204)


async def list_parts(request: web.Request) -> web.Response:
    """ListParts: the upload's parts after part-number-marker, up to max-parts."""
    upload = await _upload(request)
    marker = request.query.get("part-number-marker", "0")
    given = request.query.get("max-parts", str(_PAGE))
    if not marker.isdigit() or not given.isdigit():
        raise InvalidArgument("part-number-marker and max-parts must be integers.")
    limit = min(int(given), _PAGE)
    parts = await _parts(request, upload, int(marker), limit + 1)
    truncated, parts = len(parts) > limit, parts[:limit]
    numbers = [int(p.name.rpartition("/")[2]) for p in parts]
    elements = [
        document.element("Bucket", request.match_info["container"]),
        document.element("Key", upload.key),
        document.element("UploadId", upload.upload_id),
        document.element("PartNumberMarker", int(marker)),
        document.element("NextPartNumberMarker", numbers[-1] if numbers else 0),
        document.element("MaxParts", limit),
        document.element("IsTruncated", truncated),
    ]
    for number, part in zip(numbers, parts, strict=True):
        elements.append(
            document.nested(
                "Part",
                document.element("PartNumber", number),
                document.element("LastModified", document.timestamp(part.last_modified)),
                document.element("ETag", document.etag(part.etag)),
                document.element("Size", part.size),
            )
        )
    return document.answer("ListPartsResult", *elements)


def _upload_of(name: str) -> tuple[str, str] | None:
    """The key and upload id a name of the segments container is the marker of (None:
    it is a part, or no upload's)."""
    key, _, upload_id = name.rpartition("/")
    return (key, upload_id) if key and _UPLOAD_ID.fullmatch(upload_id) else None


async def _uploads(request: web.Request, prefix: str) -> list[tuple[str, str, rm.StoredObject]]:
    """The uploads in progress of keys starting with `prefix`, by key then id. Their
    markers are read among their parts: few uploads are ever in progress at once."""
    page, found = rm.Page(prefix=prefix), []
    at = now(request).timestamp()
    while True:
        rows = await rm.objects_page(
            db(request), project_of(request), _segments(request), page, _PAGE, at
        )
        found += [
            (*u, row)
            for row in rows
            if (u := _upload_of(row.name)) is not None and u[0].startswith(prefix)
        ]
        if len(rows) < _PAGE:
            return sorted(found, key=lambda upload: upload[:2])
        page = msgspec.structs.replace(page, marker=rows[-1].name)


async def list_uploads(request: web.Request) -> web.Response:
    """ListMultipartUploads (GET ?uploads on a bucket): the uploads in progress, by key
    then id, under `prefix`, after key-marker (and upload-id-marker), up to max-uploads."""
    q = request.query
    given = q.get("max-uploads", str(_PAGE))
    if not given.isdigit():
        raise InvalidArgument("max-uploads must be an integer.")
    limit = min(int(given), _PAGE)
    bucket = (await readable_bucket(request)).name
    after = (q.get("key-marker", ""), q.get("upload-id-marker", "\U0010ffff"))
    found = [u for u in await _uploads(request, q.get("prefix", "")) if u[:2] > after]
    truncated, found = len(found) > limit, found[:limit]
    elements = [
        document.element("Bucket", bucket),
        document.element("KeyMarker", q.get("key-marker", "")),
        document.element("UploadIdMarker", q.get("upload-id-marker", "")),
        document.element("MaxUploads", limit),
        document.element("IsTruncated", truncated),
    ]
    if truncated:
        elements.append(document.element("NextKeyMarker", found[-1][0]))
        elements.append(document.element("NextUploadIdMarker", found[-1][1]))
    for key, upload_id, row in found:
        elements.append(
            document.nested(
                "Upload",
                document.element("Key", key),
                document.element("UploadId", upload_id),
                document.element("Initiated", document.timestamp(row.created_at)),
                document.element("StorageClass", "STANDARD"),
            )
        )
    return document.answer("ListMultipartUploadsResult", *elements)
