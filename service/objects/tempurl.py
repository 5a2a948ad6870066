"""TempURL: an object GET, HEAD or PUT authorised by `temp_url_sig` and
`temp_url_expires` instead of a token.

The signature is the HMAC of "METHOD\\nexpires\\npath" keyed with one of the account's
or container's Temp-URL-Key(-2) metadata, hex (sha1, sha256 or sha512, told apart by
length) or `<digest>:<base64>`. A HEAD may use a signature made for GET, HEAD or PUT.
The path is the URL's, or the one Swift itself sees (`/v1/AUTH_<project>/...`, without
Kumo's `/object` prefix); with `temp_url_prefix=<p>` it is `prefix:<container path>/<p>`
and covers every object whose name starts with <p>.

A GET or HEAD answers with a Content-Disposition: `inline` when the URL says `inline`,
an attachment named by `filename` or else by the object, unless the object has its own.
"""

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from posixpath import basename
from urllib.parse import quote

from aiohttp import web

from service.errors import BadRequest
from service.http.api import OBJECT
from service.objects.headers import http_date

ALLOWED_DIGESTS = ("sha1", "sha256", "sha512")
METHODS = ("GET", "HEAD", "PUT")
_HEX_LENGTHS = {40: "sha1", 64: "sha256", 128: "sha512"}
_KEYS = ("temp-url-key", "temp-url-key-2")
DISALLOWED_HEADERS = ("X-Object-Manifest", "X-Symlink-Target", "X-Symlink-Target-Account")
PUBLIC_META = "x-object-meta-public-"


def is_temp_url(request: web.Request) -> bool:
    return "temp_url_sig" in request.query


def _digest_and_mac(signature: str) -> tuple[str, bytes] | None:
    digest, sep, encoded = signature.partition(":")
    try:
        if sep:
            padded = encoded + "=" * (-len(encoded) % 4)
            return digest, base64.urlsafe_b64decode(padded)
        return _HEX_LENGTHS[len(signature)], bytes.fromhex(signature)
    except (KeyError, ValueError, binascii.Error):
        return None


def keys_of(account: Mapping[str, str], container: Mapping[str, str]) -> list[str]:
    """The temp URL keys set on the account and the container."""
    found = [account.get(f"x-account-meta-{k}") for k in _KEYS]
    found += [container.get(f"x-container-meta-{k}") for k in _KEYS]
    return [k for k in found if k]


def signed(keys: list[str], bodies: Iterable[str], signature: str) -> bool:
    """Whether `signature` is the HMAC of one of `bodies` under one of `keys`, in an
    allowed digest (hex, or `<digest>:<base64>`)."""
    parsed = _digest_and_mac(signature)
    if parsed is None or parsed[0] not in ALLOWED_DIGESTS:
        return False
    digest, mac = parsed
    for body in bodies:
        for key in keys:
            made = hmac.new(key.encode(), body.encode(), getattr(hashlib, digest)).digest()
            if hmac.compare_digest(made, mac):
                return True
    return False


def allows(request: web.Request, keys: list[str], now: float) -> bool:
    """Whether the request's temp URL signature is valid and unexpired for its method
    and path under one of `keys`; False (never an error) otherwise."""
    if request.method not in METHODS:
        return False
    try:
        expires = int(request.query.get("temp_url_expires", ""))
    except ValueError:
        return False
    if expires < now:
        return False
    methods = METHODS if request.method == "HEAD" else (request.method,)
    bodies = (f"{m}\n{expires}\n{path}" for m in methods for path in _signed_paths(request))
    return signed(keys, bodies, request.query["temp_url_sig"])


def signed_paths(request: web.Request) -> tuple[str, str]:
    """The request's path as in its URL, and as Swift sees it (from `/v1/` on, without
    Kumo's `/object` prefix): a signature may cover either."""
    return request.path, request.path.removeprefix(OBJECT.prefix)


def _signed_paths(request: web.Request) -> tuple[str, ...]:
    """The paths a temp URL's signature may cover (none when the object's name does not
    start with the URL's temp_url_prefix)."""
    name = request.match_info["object"]
    prefix = request.query.get("temp_url_prefix")
    if prefix is None:
        return signed_paths(request)
    if not name.startswith(prefix):
        return ()
    return tuple(f"prefix:{p[: len(p) - len(name)]}{prefix}" for p in signed_paths(request))


def _disposition(kind: str, filename: str) -> str:
    return f"{kind}; filename=\"{quote(filename, safe=' /')}\"; filename*=UTF-8''{quote(filename)}"


def check_headers(request: web.Request) -> None:
    """Raises BadRequest for a header a temp URL may not send: one that would point the
    object at data the URL does not give access to (a large object's segments, a
    symlink's target)."""
    for header in DISALLOWED_HEADERS:
        if header in request.headers:
            raise BadRequest(f"The header {header} is not allowed in this tempurl request.")


def shown(headers: dict[str, str]) -> dict[str, str]:
    """An object's answer headers as a temp URL shows them: user metadata only under
    X-Object-Meta-Public-*."""
    return {
        k: v
        for k, v in headers.items()
        if not k.lower().startswith("x-object-meta-") or k.lower().startswith(PUBLIC_META)
    }


def answer_headers(request: web.Request, own: str | None) -> dict[str, str]:
    """The Content-Disposition (over the object's `own`, unless that is None; the
    default names the file as the URL does, a symlink's name included) and Expires of a
    successful GET or HEAD by temp URL."""
    filename = request.query.get("filename")
    if "inline" in request.query:
        disposition = "inline" if filename is None else _disposition("inline", filename)
    elif filename is not None:
        disposition = _disposition("attachment", filename)
    else:
        name = request.match_info["object"]
        disposition = own or _disposition("attachment", basename(name.rstrip("/")))
    expires = datetime.fromtimestamp(int(request.query["temp_url_expires"]), UTC)
    return {"Content-Disposition": disposition, "Expires": http_date(expires)}
