"""ListObjects (v1: marker) and ListObjectsV2 (continuation-token, start-after) over the
object listing Swift serves: prefix, delimiter (CommonPrefixes), max-keys, and keys
URL-encoded on request (encoding-type=url)."""

import base64
import binascii
import functools
from collections.abc import Callable
from urllib.parse import quote_plus

import msgspec
from aiohttp import web

from service.errors import BadRequest
from service.objects import directory as rm
from service.objects.api.common import db, now
from service.objects.listing import Query, Subdir, collect
from service.objects.s3 import document
from service.objects.s3.buckets import readable_bucket

MAX_KEYS = 1000


class Listed(msgspec.Struct, frozen=True):
    """One page of a bucket's listing and where the next one starts (None: the end)."""

    entries: list[rm.StoredObject | Subdir]
    next_marker: str | None


def _max_keys(request: web.Request) -> int:
    given = request.query.get("max-keys", str(MAX_KEYS))
    if not given.isdigit():
        raise BadRequest("max-keys must be a non-negative integer.")
    return min(int(given), MAX_KEYS)


def _after(marker: str, prefix: str, delimiter: str) -> str:
    """Where a listing after `marker` resumes: past every name of the common prefix a
    marker folds into (one a page ended with), else right after it."""
    rest = marker[len(prefix) :] if marker.startswith(prefix) else ""
    cut = rest.find(delimiter) if delimiter else -1
    if cut < 0:
        return marker
    return prefix + rest[:cut] + chr(ord(delimiter[0]) + 1)


async def _listed(request: web.Request, bucket: rm.Container, marker: str, limit: int) -> Listed:
    prefix, delimiter = request.query.get("prefix", ""), request.query.get("delimiter", "")
    page = rm.Page(prefix=prefix, marker=_after(marker, prefix, delimiter))
    at = now(request).timestamp()

    async def fetch(page: rm.Page, limit: int) -> list[rm.StoredObject]:
        return await rm.objects_page(db(request), bucket.project_id, bucket.name, page, limit, at)

    entries = await collect(fetch, Query(page, limit + 1, delimiter, "xml", False))
    if len(entries) <= limit or limit == 0:
        return Listed(entries[:limit], None)
    entries = entries[:limit]
    last = entries[-1]
    return Listed(entries, last.subdir if isinstance(last, Subdir) else last.name)


def _entries(request: web.Request, listed: Listed) -> list[str]:
    """Contents and CommonPrefixes elements, names encoded as asked."""
    shown = _encoder(request)
    elements = []
    for entry in listed.entries:
        if isinstance(entry, Subdir):
            prefix = document.element("Prefix", shown(entry.subdir))
            elements.append(document.nested("CommonPrefixes", prefix))
            continue
        elements.append(
            document.nested(
                "Contents",
                document.element("Key", shown(entry.name)),
                document.element("LastModified", document.timestamp(entry.last_modified)),
                document.element("ETag", document.etag(entry.etag)),
                document.element("Size", entry.size),
                document.element("StorageClass", "STANDARD"),
            )
        )
    return elements


def _encoder(request: web.Request) -> Callable[[str], str]:
    """How names are shown: URL-encoded for encoding-type=url, else as they are."""
    if request.query.get("encoding-type") == "url":
        return functools.partial(quote_plus, safe="/")
    return str


def _common(request: web.Request, bucket: rm.Container, limit: int) -> list[str]:
    """The elements both versions start with."""
    shown = _encoder(request)
    q = request.query
    elements = [
        document.element("Name", bucket.name),
        document.element("Prefix", shown(q.get("prefix", ""))),
        document.element("MaxKeys", limit),
    ]
    if "delimiter" in q:
        elements.append(document.element("Delimiter", shown(q["delimiter"])))
    if q.get("encoding-type") == "url":
        elements.append(document.element("EncodingType", "url"))
    return elements


async def list_objects(request: web.Request) -> web.Response:
    """ListBucketResult of version 1 (after `marker`), or of version 2 for list-type=2."""
    bucket = await readable_bucket(request)
    limit = _max_keys(request)
    if request.query.get("list-type") == "2":
        return await _list_v2(request, bucket, limit)
    marker = request.query.get("marker", "")
    listed = await _listed(request, bucket, marker, limit)
    elements = [
        *_common(request, bucket, limit),
        document.element("Marker", _encoder(request)(marker)),
        document.element("IsTruncated", listed.next_marker is not None),
    ]
    if listed.next_marker is not None and "delimiter" in request.query:
        elements.append(document.element("NextMarker", _encoder(request)(listed.next_marker)))
    return document.answer("ListBucketResult", *elements, *_entries(request, listed))


def _token(marker: str) -> str:
    return base64.urlsafe_b64encode(marker.encode()).decode()


def _from_token(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise BadRequest("The continuation token provided is incorrect.") from None


async def _list_v2(request: web.Request, bucket: rm.Container, limit: int) -> web.Response:
    q = request.query
    token = q.get("continuation-token")
    marker = _from_token(token) if token is not None else q.get("start-after", "")
    listed = await _listed(request, bucket, marker, limit)
    elements = [
        *_common(request, bucket, limit),
        document.element("KeyCount", len(listed.entries)),
        document.element("IsTruncated", listed.next_marker is not None),
    ]
    if token is not None:
        elements.append(document.element("ContinuationToken", token))
    if listed.next_marker is not None:
        elements.append(document.element("NextContinuationToken", _token(listed.next_marker)))
    if "start-after" in q:
        elements.append(document.element("StartAfter", _encoder(request)(q["start-after"])))
    return document.answer("ListBucketResult", *elements, *_entries(request, listed))
