"""TempURL: an object GET, HEAD or PUT authorised by `temp_url_sig` and
`temp_url_expires` instead of a token.

The signature is the HMAC of "METHOD\\nexpires\\npath" keyed with one of the account's
or container's Temp-URL-Key(-2) metadata, hex (sha1, sha256 or sha512, told apart by
length) or `<digest>:<base64>`. A HEAD may use a signature made for GET, HEAD or PUT.
"""

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping

from aiohttp import web

ALLOWED_DIGESTS = ("sha1", "sha256", "sha512")
METHODS = ("GET", "HEAD", "PUT")
_HEX_LENGTHS = {40: "sha1", 64: "sha256", 128: "sha512"}
_KEYS = ("temp-url-key", "temp-url-key-2")


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


def allows(request: web.Request, keys: list[str], now: float) -> bool:
    """Whether the request's temp URL signature is valid and unexpired for its method
    and path under one of `keys`; False (never an error) otherwise."""
    if request.method not in METHODS:
        return False
    try:
        expires = int(request.query.get("temp_url_expires", ""))
    except ValueError:
        return False
    parsed = _digest_and_mac(request.query["temp_url_sig"])
    if expires < now or parsed is None or parsed[0] not in ALLOWED_DIGESTS:
        return False
    digest, mac = parsed
    methods = METHODS if request.method == "HEAD" else (request.method,)
    for key in keys:
        for method in methods:
            body = f"{method}\n{expires}\n{request.path}".encode()
            if hmac.compare_digest(
                hmac.new(key.encode(), body, getattr(hashlib, digest)).digest(), mac
            ):
                return True
    return False
