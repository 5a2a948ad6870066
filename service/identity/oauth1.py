"""OAuth 1.0a request signatures (RFC 5849), as Keystone's OS-OAUTH1 checks them.

A consumer signs each request with HMAC-SHA1 over the method, the URL it called and its
parameters (the `oauth_*` ones of its Authorization header, the query's, a form body's),
keyed by its own secret and the secret of the request or access token it presents. The
server recomputes the signature with the secrets it keeps; nothing else proves who sent
the request. A request signed more than TIMESTAMP_WINDOW from now is refused.
"""

import base64
import hashlib
import hmac
import re
import urllib.parse
from collections.abc import Iterable
from datetime import datetime, timedelta

import msgspec

from service.errors import Unauthorized

TIMESTAMP_WINDOW = timedelta(minutes=10)
_PARAM = re.compile(r'\s*([A-Za-z0-9_.~%-]+)="([^"]*)"\s*(?:,|$)')


class SignedRequest(msgspec.Struct, frozen=True):
    """What a request's Authorization header says (percent-decoded), and everything its
    signature covers."""

    oauth: dict[str, str]
    signed_params: list[tuple[str, str]]

    def get(self, name: str) -> str | None:
        return self.oauth.get(name)

    def require(self, name: str) -> str:
        """The header's `name` parameter; 401 if the consumer left it out."""
        value = self.oauth.get(name)
        if not value:
            raise Unauthorized(f"The OAuth request has no {name}.")
        return value


def parse(authorization: str | None, query: Iterable[tuple[str, str]], form: str) -> SignedRequest:
    """The OAuth parameters of a request; 401 unless its Authorization header is an
    `OAuth` one signed with HMAC-SHA1."""
    if not authorization or not authorization.startswith("OAuth "):
        raise Unauthorized("This request needs an OAuth Authorization header.")
    oauth = {
        urllib.parse.unquote(key): urllib.parse.unquote(value)
        for key, value in _PARAM.findall(authorization.removeprefix("OAuth "))
    }
    if oauth.get("oauth_signature_method") != "HMAC-SHA1":
        raise Unauthorized("OAuth requests are signed with HMAC-SHA1 here.")
    signed = [(k, v) for k, v in oauth.items() if k not in ("oauth_signature", "realm")]
    signed += list(query)
    signed += urllib.parse.parse_qsl(form, keep_blank_values=True)
    return SignedRequest(oauth, signed)


def verify(
    request: SignedRequest,
    method: str,
    url: str,
    secrets: tuple[str, str],
    now: datetime,
) -> None:
    """401 unless `request` carries the signature of `method` on `url` (scheme, host,
    port and path as the client called them) made with `secrets` (the consumer's and the
    token's, "" when there is no token yet), signed within TIMESTAMP_WINDOW of `now`."""
    try:
        signed_at = int(request.require("oauth_timestamp"))
    except ValueError:
        raise Unauthorized("The OAuth timestamp is not a number.") from None
    if abs(now.timestamp() - signed_at) > TIMESTAMP_WINDOW.total_seconds():
        raise Unauthorized("The OAuth request was signed too long ago (or in the future).")
    expected = signature(method, url, request.signed_params, secrets)
    if not hmac.compare_digest(expected, request.require("oauth_signature")):
        raise Unauthorized("The OAuth signature does not match.")


def signature(
    method: str, url: str, params: Iterable[tuple[str, str]], secrets: tuple[str, str]
) -> str:
    """The HMAC-SHA1 signature of the request, base64-encoded (RFC 5849 §3.4)."""
    pairs = sorted((_encode(k), _encode(v)) for k, v in params)
    normalized = "&".join(f"{k}={v}" for k, v in pairs)
    base = "&".join(_encode(part) for part in (method.upper(), _base_url(url), normalized))
    key = "&".join(_encode(secret) for secret in secrets)
    digest = hmac.new(key.encode(), base.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def form(values: dict[str, str]) -> str:
    """A token response body (`application/x-www-form-urlencoded`)."""
    return urllib.parse.urlencode(values)


def _base_url(url: str) -> str:
    """The URL as the signature base string has it: lower-case scheme and host, no
    default port, no query or fragment."""
    parts = urllib.parse.urlsplit(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}.get(scheme)
    netloc = host if parts.port in (None, default) else f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((scheme, netloc, parts.path or "/", "", ""))


def _encode(text: str) -> str:
    return urllib.parse.quote(text, safe="~")
