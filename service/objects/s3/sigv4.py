"""AWS Signature Version 4 as S3 checks it, from the Authorization header or a presigned
URL's query: what a request says it is signed with, its canonical request, and the
signature its secret gives (see AWS's "Signature Version 4 signing process")."""

import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from urllib.parse import quote

import msgspec
from multidict import CIMultiDictProxy, MultiMapping

from service.objects.s3.errors import (
    AccessDenied,
    AuthorizationHeaderMalformed,
    AuthorizationQueryParametersError,
    InvalidRequest,
    NotImplementedHere,
    RequestTimeTooSkewed,
    SignatureDoesNotMatch,
)

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
SIGNED_CHUNKS = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
UNSIGNED_CHUNKS = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
CHUNKED = frozenset({SIGNED_CHUNKS, UNSIGNED_CHUNKS})
"""Payload hashes of an aws-chunked body (see chunked.py)."""
CONTENT_SHA256 = "x-amz-content-sha256"
MAX_SKEW = timedelta(minutes=15)
MAX_EXPIRES = 7 * 24 * 3600
"""The longest a presigned URL may say it is valid for (seconds), as S3's."""
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_AMZ_DATE = "%Y%m%dT%H%M%SZ"


class Signed(msgspec.Struct, frozen=True, kw_only=True):
    """What a request says it is signed with and when."""

    access_key: str
    amz_date: str
    scope: str
    """date/region/service/aws4_request"""
    signed_headers: tuple[str, ...]
    signature: str
    payload_hash: str
    """A hex SHA-256 of the body, or UNSIGNED-PAYLOAD."""
    expires: int | None = None
    """Seconds after `amz_date` a presigned URL is valid for; None: signed in a header."""


def _parse_time(amz_date: str, error: type[Exception]) -> datetime:
    try:
        return datetime.strptime(amz_date + "+0000", _AMZ_DATE + "%z")
    except ValueError:
        raise error(f"Invalid X-Amz-Date {amz_date!r}.") from None


def _credential(value: str, amz_date: str, error: type[Exception]) -> tuple[str, str]:
    """The access key and scope of `<access>/<date>/<region>/s3/aws4_request`."""
    access, _, scope = value.partition("/")
    parts = scope.split("/")
    if not access or len(parts) != 4 or parts[3] != "aws4_request":
        raise error(f"The credential {value!r} is malformed.")
    if parts[0] != amz_date[:8]:
        raise error(f"The credential's date {parts[0]!r} is not the request's {amz_date[:8]!r}.")
    if parts[2] != "s3":
        raise error(f"The credential's service {parts[2]!r} is not s3.")
    return access, scope


def from_header(authorization: str, headers: Mapping[str, str]) -> Signed:
    """What an Authorization header signs: 400 if it is malformed or not SigV4, 501 for
    the chunked payloads other than CHUNKED (signed trailers, ECDSA)."""
    algorithm, _, rest = authorization.partition(" ")
    if algorithm != ALGORITHM:
        raise InvalidRequest(
            "The authorization mechanism you have provided is not supported."
            f" Please use {ALGORITHM}."
        )
    fields = {}
    for part in rest.split(","):
        name, _, value = part.strip().partition("=")
        fields[name] = value
    missing = {"Credential", "SignedHeaders", "Signature"} - fields.keys()
    if missing:
        raise AuthorizationHeaderMalformed(f"The authorization header lacks {sorted(missing)}.")
    amz_date = headers.get("x-amz-date", "")
    _parse_time(amz_date, AccessDenied)
    access, scope = _credential(fields["Credential"], amz_date, AuthorizationHeaderMalformed)
    payload_hash = headers.get(CONTENT_SHA256, "")
    if payload_hash.startswith("STREAMING-") and payload_hash not in CHUNKED:
        raise NotImplementedHere(f"{CONTENT_SHA256}: {payload_hash} is not supported.")
    plain = payload_hash in CHUNKED or payload_hash == UNSIGNED_PAYLOAD
    if not plain and not _SHA256_HEX.fullmatch(payload_hash):
        raise InvalidRequest(f"Missing or invalid {CONTENT_SHA256} header.")
    return Signed(
        access_key=access,
        amz_date=amz_date,
        scope=scope,
        signed_headers=tuple(fields["SignedHeaders"].split(";")),
        signature=fields["Signature"],
        payload_hash=payload_hash,
    )


def from_query(query: Mapping[str, str], headers: Mapping[str, str]) -> Signed:
    """What a presigned URL's X-Amz-* query parameters sign; 400 if they are malformed."""
    error = AuthorizationQueryParametersError
    names = ("X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders")
    missing = [n for n in (*names, "X-Amz-Signature") if n not in query]
    if query.get("X-Amz-Algorithm") != ALGORITHM or missing:
        raise error(f"X-Amz-Algorithm must be {ALGORITHM}, with {', '.join(names)}.")
    amz_date = query["X-Amz-Date"]
    _parse_time(amz_date, error)
    access, scope = _credential(query["X-Amz-Credential"], amz_date, error)
    expires = query["X-Amz-Expires"]
    if not expires.isdigit() or int(expires) > MAX_EXPIRES:
        raise error(f"X-Amz-Expires must be a number of seconds up to {MAX_EXPIRES}.")
    return Signed(
        access_key=access,
        amz_date=amz_date,
        scope=scope,
        signed_headers=tuple(query["X-Amz-SignedHeaders"].split(";")),
        signature=query["X-Amz-Signature"],
        payload_hash=headers.get(CONTENT_SHA256, UNSIGNED_PAYLOAD),
        expires=int(expires),
    )


def check_time(signed: Signed, now: datetime) -> None:
    """403 unless the request is within 15 minutes of `now` (RequestTimeTooSkewed), or,
    presigned, valid from its date for its X-Amz-Expires seconds (AccessDenied)."""
    at = _parse_time(signed.amz_date, AccessDenied)
    if signed.expires is None:
        if abs(now - at) > MAX_SKEW:
            raise RequestTimeTooSkewed()
        return
    if at - now > MAX_SKEW:
        raise AccessDenied("Request is not valid yet")
    if now > at + timedelta(seconds=signed.expires):
        raise AccessDenied("Request has expired")


def _encode(value: str) -> str:
    """URI-encoded as SigV4 wants: every byte but the unreserved characters."""
    return quote(value, safe="-_.~")


def canonical_request(
    signed: Signed,
    method: str,
    path: str,
    query: MultiMapping[str],
    headers: CIMultiDictProxy[str],
) -> str:
    """The canonical request of a request with this (decoded) path and query."""
    pairs = sorted((_encode(k), _encode(v)) for k, v in query.items() if k != "X-Amz-Signature")
    lines = [
        method,
        quote(path, safe="/~"),
        "&".join(f"{k}={v}" for k, v in pairs),
        *(
            f"{name}:{','.join(' '.join(v.split()) for v in headers.getall(name, []))}"
            for name in signed.signed_headers
        ),
        "",
        ";".join(signed.signed_headers),
        signed.payload_hash,
    ]
    return "\n".join(lines)


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def _signing_key(secret: str, scope: str) -> bytes:
    key = ("AWS4" + secret).encode()
    for part in scope.split("/"):
        key = _hmac(key, part)
    return key


def _sign(key: bytes, *lines: str) -> str:
    return hmac.new(key, "\n".join(lines).encode(), hashlib.sha256).hexdigest()


def signature(secret: str, signed: Signed, canonical: str) -> str:
    """The hex signature `secret` gives the canonical request, in the signed scope."""
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    key = _signing_key(secret, signed.scope)
    return _sign(key, ALGORITHM, signed.amz_date, signed.scope, digest)


def check_signature(secret: str, signed: Signed, canonical: str) -> None:
    """403 SignatureDoesNotMatch unless `secret` gives the request's signature."""
    if not hmac.compare_digest(signature(secret, signed, canonical), signed.signature):
        raise SignatureDoesNotMatch()


class ChunkChain:
    """The signatures of a signed aws-chunked body's chunks, each chained to the one
    before it, the first to the request's own signature."""

    _EMPTY = hashlib.sha256(b"").hexdigest()

    def __init__(self, secret: str, signed: Signed) -> None:
        self._key = _signing_key(secret, signed.scope)
        self._signed = signed
        self._previous = signed.signature

    def check(self, signature: str, data: bytes) -> None:
        """403 SignatureDoesNotMatch unless `signature` is the next chunk's, `data`'s."""
        expected = _sign(
            self._key,
            "AWS4-HMAC-SHA256-PAYLOAD",
            self._signed.amz_date,
            self._signed.scope,
            self._previous,
            self._EMPTY,
            hashlib.sha256(data).hexdigest(),
        )
        if not hmac.compare_digest(expected, signature):
            raise SignatureDoesNotMatch("A chunk's signature does not match.")
        self._previous = expected
