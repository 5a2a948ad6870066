"""Large objects: Static Large Objects (a manifest of checked segments, stored as the
object's bytes) and Dynamic Large Objects (an X-Object-Manifest prefix, listed on read).
Segments live in the same account; a missing segment fails the read."""

import hashlib
from typing import Any
from urllib.parse import unquote

import msgspec

from service.errors import BadRequest, Conflict, RequestEntityTooLarge
from service.objects import directory as rm
from service.objects.headers import listing_time
from service.objects.naming import blob_key, split_path
from service.objects.policy import StoragePolicies
from service.objects.segments import Part

SLO = "slo"
MAX_MANIFEST_SEGMENTS = 1000
MAX_MANIFEST_SIZE = 8 * 1024 * 1024
DLO_MAX_SEGMENTS = 10000


class SegmentSpec(msgspec.Struct, frozen=True):
    """One entry of a `?multipart-manifest=put` body."""

    path: str
    etag: str | None = None
    size_bytes: int | None = None


class ManifestEntry(msgspec.Struct, frozen=True):
    """One segment as the stored manifest (and `?multipart-manifest=get`) lists it."""

    name: str
    hash: str
    bytes: int
    content_type: str
    last_modified: str


class Manifest(msgspec.Struct, frozen=True):
    """A checked SLO: its segments, total size and etag (md5 of the segment etags)."""

    entries: list[ManifestEntry]
    size: int
    etag: str


def part_of(row: rm.StoredObject) -> Part:
    """The blob of one version of an object, on its container's policy's backend."""
    key = blob_key(row.project_id, row.container, row.name, row.version_id)
    return Part(key, row.size, row.storage_policy)


def combined_etag(etags: list[str]) -> str:
    """The etag of a large object: md5 of its segments' etags concatenated."""
    return hashlib.md5("".join(etags).encode(), usedforsecurity=False).hexdigest()


async def _segment(db: Any, project_id: str, path: str, now: float) -> rm.StoredObject | None:
    container, name = split_path(unquote(path))
    row = await rm.stored_object(db, project_id, container, name)
    return None if row is None or row.expired(now) else row


async def build_slo(db: Any, project_id: str, body: bytes, now: float) -> Manifest:
    """The manifest a `?multipart-manifest=put` body describes, each segment checked to
    exist with the etag and size given. Raises BadRequest listing every bad segment,
    RequestEntityTooLarge for too many segments."""
    if len(body) > MAX_MANIFEST_SIZE:
        raise RequestEntityTooLarge("Manifest File > 8388608 bytes")
    try:
        specs = msgspec.json.decode(body, type=list[SegmentSpec])
    except msgspec.DecodeError as error:
        raise BadRequest(f"Manifest must be valid JSON: {error}") from None
    except msgspec.ValidationError as error:
        raise BadRequest(f"Invalid manifest: {error}") from None
    if not specs:
        raise BadRequest("Manifest must list at least one segment.")
    if len(specs) > MAX_MANIFEST_SEGMENTS:
        raise RequestEntityTooLarge(f"Too many segments; max {MAX_MANIFEST_SEGMENTS}")
    errors: list[str] = []
    entries: list[ManifestEntry] = []
    for spec in specs:
        row = await _segment(db, project_id, spec.path, now)
        if row is None:
            errors.append(f"{spec.path}, 404 Not Found")
        elif row.large_object == SLO:
            errors.append(f"{spec.path}, nested static large objects are not supported")
        elif spec.etag is not None and spec.etag.strip('"') != row.etag:
            errors.append(f"{spec.path}, Etag Mismatch")
        elif spec.size_bytes is not None and spec.size_bytes != row.size:
            errors.append(f"{spec.path}, Size Mismatch")
        else:
            entries.append(
                ManifestEntry(
                    name="/" + unquote(spec.path).lstrip("/"),
                    hash=row.etag,
                    bytes=row.size,
                    content_type=row.content_type,
                    last_modified=listing_time(row.last_modified),
                )
            )
    if errors:
        raise BadRequest("Errors:\n" + "\n".join(errors))
    return Manifest(
        entries, sum(e.bytes for e in entries), combined_etag([e.hash for e in entries])
    )


async def read_manifest(policies: StoragePolicies, row: rm.StoredObject) -> list[ManifestEntry]:
    """The stored manifest of an SLO."""
    chunks = []
    part = part_of(row)
    async with await policies.backend(part.policy).get(part.key) as reader:
        async for chunk in reader:
            chunks.append(chunk)
    return msgspec.json.decode(b"".join(chunks), type=list[ManifestEntry])


async def slo_parts(
    db: Any, policies: StoragePolicies, row: rm.StoredObject, now: float
) -> list[Part]:
    """The current blobs of an SLO's segments (each on its own container's policy's
    backend); Conflict (409) when one is gone or changed."""
    parts = []
    for entry in await read_manifest(policies, row):
        segment = await _segment(db, row.project_id, entry.name, now)
        if segment is None or segment.etag != entry.hash:
            raise Conflict(f"Segment {entry.name} of the large object is missing or changed.")
        parts.append(part_of(segment))
    return parts


async def dlo_segments(
    db: Any, project_id: str, manifest: str, now: float
) -> list[rm.StoredObject]:
    """The objects an X-Object-Manifest of `<container>/<prefix>` names, in name order."""
    container, _, prefix = unquote(manifest).lstrip("/").partition("/")
    rows: list[rm.StoredObject] = []
    page = rm.Page(prefix=prefix)
    while len(rows) < DLO_MAX_SEGMENTS:
        batch = await rm.objects_page(db, project_id, container, page, 1000, now)
        rows.extend(batch)
        if len(batch) < 1000:
            break
        page = msgspec.structs.replace(page, marker=batch[-1].name)
    return rows
