"""Request bodies as S3 signs them: as sent or aws-chunked (chunked.py), a signed
payload's SHA-256 checked, an upload's Content-MD5 read."""

import base64
import binascii
import hashlib
from collections.abc import AsyncIterator, Collection

from aiohttp import web

from service.errors import RequestEntityTooLarge, error_for_status
from service.http.body import body_pieces
from service.objects.api.common import OBJECT_HASHES
from service.objects.s3.auth import CHUNK_CHAIN, PAYLOAD_HASH
from service.objects.s3.chunked import decoded
from service.objects.s3.errors import ContentSha256Mismatch, InvalidDigest
from service.objects.s3.sigv4 import CHUNKED, UNSIGNED_PAYLOAD
from service.storage.backend import HashName, ObjectBackend, StoredObject

MAX_XML_BODY = 2 * 1024 * 1024
"""The largest XML request body read (DeleteObjects of 1,000 long keys fits)."""
_SIGNED: tuple[HashName, ...] = (*OBJECT_HASHES, "sha256")


def signed_payload(request: web.Request) -> str | None:
    """The SHA-256 the signature covers the body with; None when it covers none (an
    unsigned body, or a chunked one whose chunks are checked as they come)."""
    given = request[PAYLOAD_HASH]
    return None if given == UNSIGNED_PAYLOAD or given in CHUNKED else given


def body_length(request: web.Request) -> int | None:
    """The body's length once decoded (None: not given); 411 for an aws-chunked body
    without x-amz-decoded-content-length."""
    if request[PAYLOAD_HASH] not in CHUNKED:
        return request.content_length
    given = request.headers.get("x-amz-decoded-content-length", "")
    if not given.isdigit():
        raise error_for_status(411, "An aws-chunked body needs x-amz-decoded-content-length.")
    return int(given)


def pieces(request: web.Request) -> AsyncIterator[bytes]:
    """The body's bytes, decoded from aws-chunked when it is."""
    if request[PAYLOAD_HASH] not in CHUNKED:
        return body_pieces(request)
    return decoded(request, body_length(request) or 0, request.get(CHUNK_CHAIN))


def hashes_for(request: web.Request) -> Collection[HashName]:
    """The hashes an upload computes: the md5 (ETag), and the SHA-256 when signed."""
    return OBJECT_HASHES if signed_payload(request) is None else _SIGNED


async def check_stored(
    request: web.Request, backend: ObjectBackend, stored: StoredObject
) -> StoredObject:
    """`stored` (on `backend`) when its SHA-256 is the signed one; else its bytes go, 400."""
    expected = signed_payload(request)
    if expected is not None and (stored.hashes is None or stored.hashes.sha256 != expected):
        await backend.delete(stored.key)
        raise ContentSha256Mismatch()
    return stored


async def read_small(request: web.Request) -> bytes:
    """The whole (small) body, its signed SHA-256 checked: 400 on a mismatch, or past
    MAX_XML_BODY bytes."""
    read, size = [], 0
    async for piece in pieces(request):
        size += len(piece)
        if size > MAX_XML_BODY:
            raise RequestEntityTooLarge("The request body is too large.")
        read.append(piece)
    body = b"".join(read)
    expected = signed_payload(request)
    if expected is not None and hashlib.sha256(body).hexdigest() != expected:
        raise ContentSha256Mismatch()
    return body


def content_md5(request: web.Request) -> str | None:
    """The hex md5 the Content-MD5 header gives (base64); 400 InvalidDigest if garbled."""
    given = request.headers.get("Content-MD5")
    if given is None:
        return None
    try:
        digest = base64.b64decode(given, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidDigest() from None
    if len(digest) != 16:
        raise InvalidDigest()
    return digest.hex()
