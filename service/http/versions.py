"""Version discovery documents, shaped the way each OpenStack client expects them.

Each API's root lists its versions and each version root describes itself; links
are built from the configured public URL (settings.base_url), never the Host header.
"""

import msgspec
from aiohttp import web

from service.http.body import json_response
from service.http.keys import SETTINGS

COMPUTE_MIN_MICROVERSION = "2.1"
COMPUTE_MAX_MICROVERSION = "2.74"
"""The highest compute microversion Kumo serves; raised as the compute API grows."""

IMAGE_VERSIONS = (("2.5", "CURRENT"), ("2.4", "SUPPORTED"), ("2.3", "SUPPORTED"),
                  ("2.2", "SUPPORTED"), ("2.1", "SUPPORTED"), ("2.0", "SUPPORTED"))  # fmt: skip
"""Glance v2 minor versions listed at the image root, newest first, with their status."""

_DOCS = "https://docs.openstack.org/"


class Link(msgspec.Struct, frozen=True, omit_defaults=True):
    rel: str
    href: str
    type: str | None = None


class MediaType(msgspec.Struct, frozen=True):
    base: str
    type: str


class Version(msgspec.Struct, frozen=True, omit_defaults=True, kw_only=True):
    id: str
    status: str
    links: tuple[Link, ...]
    version: str | None = None
    min_version: str | None = None
    updated: str | None = None
    media_types: tuple[MediaType, ...] | None = msgspec.field(default=None, name="media-types")


class VersionList(msgspec.Struct, frozen=True):
    versions: tuple[Version, ...]


class VersionValues(msgspec.Struct, frozen=True):
    values: tuple[Version, ...]


class KeystoneVersionList(msgspec.Struct, frozen=True):
    versions: VersionValues


class VersionDoc(msgspec.Struct, frozen=True):
    version: Version


def _base(request: web.Request) -> str:
    return request.config_dict[SETTINGS].base_url


# Identity (keystone/api/discovery.py)


def identity_v3(base_url: str) -> Version:
    """Keystone's v3 version entry."""
    return Version(
        id="v3.14",
        status="stable",
        updated="2020-04-07T00:00:00Z",
        links=(Link("self", f"{base_url}/identity/v3/"),),
        media_types=(MediaType("application/json", "application/vnd.openstack.identity-v3+json"),),
    )


async def identity_versions(request: web.Request) -> web.Response:
    """`GET /identity/`: 300 Multiple Choices with `versions.values`, Location of v3."""
    v3 = identity_v3(_base(request))
    return json_response(
        KeystoneVersionList(VersionValues((v3,))),
        status=300,
        headers={"Location": v3.links[0].href},
    )


async def identity_version(request: web.Request) -> web.Response:
    """`GET /identity/v3`: the v3 version document."""
    return json_response(VersionDoc(identity_v3(_base(request))))


# Compute (nova/api/openstack/compute/versions.py)


def compute_v21(base_url: str, *, detailed: bool) -> Version:
    """Nova's v2.1 entry; `detailed` adds the describedby link and media types."""
    links: tuple[Link, ...] = (Link("self", f"{base_url}/compute/v2.1/"),)
    if detailed:
        links += (Link("describedby", _DOCS, "text/html"),)
    media = (MediaType("application/json", "application/vnd.openstack.compute+json;version=2.1"),)
    return Version(
        id="v2.1",
        status="CURRENT",
        version=COMPUTE_MAX_MICROVERSION,
        min_version=COMPUTE_MIN_MICROVERSION,
        updated="2013-07-23T11:33:21Z",
        links=links,
        media_types=media if detailed else None,
    )


def compute_v20(base_url: str) -> Version:
    """Nova's legacy v2.0 entry: the v2.1 API without microversions, listed first."""
    return Version(
        id="v2.0",
        status="SUPPORTED",
        version="",
        min_version="",
        updated="2011-01-21T11:33:21Z",
        links=(Link("self", f"{base_url}/compute/v2/"),),
    )


async def compute_versions(request: web.Request) -> web.Response:
    """`GET /compute/`: 200 with the `versions` list (v2.0, then v2.1)."""
    base = _base(request)
    return json_response(VersionList((compute_v20(base), compute_v21(base, detailed=False))))


async def compute_v20_version(request: web.Request) -> web.Response:
    """`GET /compute/v2/`: the legacy v2.0 version document."""
    return json_response(VersionDoc(compute_v20(_base(request))))


async def compute_version(request: web.Request) -> web.Response:
    """`GET /compute/v2.1/`: the v2.1 version document."""
    return json_response(VersionDoc(compute_v21(_base(request), detailed=True)))


# Image (glance/api/versions.py)


def image_version_list(base_url: str) -> VersionList:
    """Glance's version list: every v2 minor version, all linking to /image/v2/."""
    link = (Link("self", f"{base_url}/image/v2/"),)
    return VersionList(tuple(Version(id=f"v{v}", status=s, links=link) for v, s in IMAGE_VERSIONS))


async def image_versions(request: web.Request) -> web.Response:
    """`GET /image/`: 300 Multiple Choices; `GET /image/versions` asks explicitly: 200."""
    explicit = request.path.rstrip("/").endswith("/versions")
    return json_response(image_version_list(_base(request)), status=200 if explicit else 300)


# Network (neutron's root controller)


async def network_versions(request: web.Request) -> web.Response:
    """`GET /network/`: 200 with the one `versions` entry, v2.0."""
    v20 = Version(
        id="v2.0", status="CURRENT", links=(Link("self", f"{_base(request)}/network/v2.0"),)
    )
    return json_response(VersionList((v20,)))


# Events (Kumo's own)


def events_v1(base_url: str) -> Version:
    """Kumo's events API v1 entry."""
    return Version(
        id="v1",
        status="CURRENT",
        updated="2025-01-01T00:00:00Z",
        links=(Link("self", f"{base_url}/events/v1/"),),
        media_types=(MediaType("application/json", "application/json"),),
    )


async def events_versions(request: web.Request) -> web.Response:
    """`GET /events/`: 200 with the `versions` list."""
    return json_response(VersionList((events_v1(_base(request)),)))


async def events_version(request: web.Request) -> web.Response:
    """`GET /events/v1/`: the v1 version document."""
    return json_response(VersionDoc(events_v1(_base(request))))
