"""Fetching an image's bytes for a `web-download` import: which URLs may be fetched, and
the fetch itself.

A URL must be http or https on an allowed port (KUMO_IMAGE_IMPORT_PORTS), and its host
must not resolve to a loopback, private, link-local or otherwise special address unless
KUMO_IMAGE_IMPORT_LOCAL_HOSTS says so: an import must not read the cloud's own network
on a user's behalf. The addresses are checked where the connection is made (a resolver
that hands aiohttp only the allowed ones), so a name that resolves differently the
second time gains nothing, and every redirect is checked as the first URL was.
"""

import ipaddress
import socket
from collections.abc import AsyncGenerator
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from service.config import Settings
from service.errors import BadRequest

MAX_REDIRECTS = 5
CHUNK = 1 << 20
TIMEOUT = aiohttp.ClientTimeout(total=None, connect=30, sock_read=120)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class FetchError(Exception):
    """The bytes could not be fetched; the message says why, for the image's events."""


def _allowed_ports(settings: Settings) -> set[int] | None:
    ports = {int(p) for p in settings.image_import_ports.split(",") if p.strip()}
    return ports or None


def check_url(uri: str, settings: Settings) -> None:
    """400 unless `uri` is an http(s) URL with a host, on an allowed port."""
    try:
        parts = urlsplit(uri)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise BadRequest(f"{uri!r} is not a URL.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadRequest("web-download fetches http and https URLs only.")
    allowed = _allowed_ports(settings)
    if allowed is not None and port not in allowed:
        ports = ", ".join(str(p) for p in sorted(allowed))
        raise BadRequest(f"web-download fetches from ports {ports} only, not {port}.")


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return ip.is_global and not ip.is_multicast


class GuardedResolver(AbstractResolver):
    """The default resolver's answers, less the addresses an import may not reach."""

    def __init__(self, local_hosts: bool) -> None:
        self._resolver = DefaultResolver()
        self._local_hosts = local_hosts

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._resolver.resolve(host, port, family)
        kept = [r for r in found if self._local_hosts or _public(r["host"])]
        if not kept:
            raise OSError(f"{host} resolves to no address an image import may fetch from")
        return kept

    async def close(self) -> None:
        await self._resolver.close()


async def check_host(uri: str, settings: Settings) -> None:
    """400 unless the URL's host resolves to an address an import may fetch from."""
    resolver = GuardedResolver(settings.image_import_local_hosts)
    try:
        await resolver.resolve(urlsplit(uri).hostname or "", 0, socket.AF_UNSPEC)
    except OSError as error:
        raise BadRequest(f"Cannot import from {uri}: {error}.") from None
    finally:
        await resolver.close()


async def fetch(uri: str, settings: Settings) -> AsyncGenerator[bytes, None]:
    """The body at `uri` (following redirects that pass the same checks), in chunks;
    FetchError when it cannot be had (a refused URL, a network error, or not a 200)."""
    connector = aiohttp.TCPConnector(resolver=GuardedResolver(settings.image_import_local_hosts))
    async with aiohttp.ClientSession(connector=connector, timeout=TIMEOUT) as session:
        response = await _follow(session, uri, settings)
        async with response:
            try:
                async for chunk in response.content.iter_chunked(CHUNK):
                    yield chunk
            except aiohttp.ClientError as error:
                raise FetchError(f"reading {uri} failed: {error}") from error


async def _follow(session: aiohttp.ClientSession, uri: str, settings: Settings) -> Any:
    """The response to GET `uri` after at most MAX_REDIRECTS checked redirects."""
    for _ in range(MAX_REDIRECTS + 1):
        try:
            check_url(uri, settings)
        except BadRequest as refused:
            raise FetchError(str(refused)) from None
        try:
            response = await session.get(uri, allow_redirects=False)
        except (aiohttp.ClientError, OSError) as error:
            raise FetchError(f"fetching {uri} failed: {error}") from error
        if response.status in _REDIRECTS and "Location" in response.headers:
            response.release()
            uri = urljoin(uri, response.headers["Location"])
            continue
        if response.status != 200:
            response.release()
            raise FetchError(f"{uri} answered {response.status} {response.reason}")
        return response
    raise FetchError(f"{uri} redirected more than {MAX_REDIRECTS} times")
