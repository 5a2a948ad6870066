"""`GET /object/info` without a token: Swift's capabilities document, listing only the
middlewares Kumo implements, with their limits."""

import msgspec
from aiohttp import web

from service.http.body import json_response
from service.objects.api.bulk import MAX_DELETES_PER_REQUEST, MAX_FAILED_DELETES
from service.objects.api.common import max_object_size, policies
from service.objects.api.extract import MAX_CONTAINERS_PER_EXTRACTION, MAX_FAILED_EXTRACTIONS
from service.objects.headers import (
    MAX_META_COUNT,
    MAX_META_NAME_LENGTH,
    MAX_META_OVERALL_SIZE,
    MAX_META_VALUE_LENGTH,
)
from service.objects.large_object import DLO_MAX_SEGMENTS, MAX_MANIFEST_SEGMENTS, MAX_MANIFEST_SIZE
from service.objects.listing import LISTING_LIMIT
from service.objects.naming import MAX_CONTAINER_NAME_BYTES, MAX_OBJECT_NAME_BYTES
from service.objects.symlink import SYMLOOP_MAX
from service.objects.tempurl import ALLOWED_DIGESTS, METHODS, PUBLIC_META

routes = web.RouteTableDef()
SWIFT_VERSION = "2.34.0"
"""The Swift release whose API this one speaks, for clients that gate features on
`swift.version` (Tempest's test of the account's object-count quota needs 2.34)."""


class Policy(msgspec.Struct, frozen=True, omit_defaults=True):
    """A storage policy as Swift lists it: `default` only on the default one."""

    name: str
    aliases: str
    default: bool = False


class SwiftCapabilities(msgspec.Struct, frozen=True, kw_only=True):
    max_file_size: int
    version: str = SWIFT_VERSION
    policies: tuple[Policy, ...]
    max_meta_name_length: int = MAX_META_NAME_LENGTH
    max_meta_value_length: int = MAX_META_VALUE_LENGTH
    max_meta_count: int = MAX_META_COUNT
    max_meta_overall_size: int = MAX_META_OVERALL_SIZE
    max_header_size: int = 8192
    max_object_name_length: int = MAX_OBJECT_NAME_BYTES
    container_listing_limit: int = LISTING_LIMIT
    account_listing_limit: int = LISTING_LIMIT
    max_account_name_length: int = 256
    max_container_name_length: int = MAX_CONTAINER_NAME_BYTES
    valid_api_versions: tuple[str, ...] = ("v1", "v1.0")
    extra_header_count: int = 0
    strict_cors_mode: bool = True
    allow_account_management: bool = False
    account_autocreate: bool = True


class TempUrl(msgspec.Struct, frozen=True):
    methods: tuple[str, ...] = METHODS
    allowed_digests: tuple[str, ...] = ALLOWED_DIGESTS
    incoming_remove_headers: tuple[str, ...] = ("x-timestamp",)
    incoming_allow_headers: tuple[str, ...] = ()
    outgoing_remove_headers: tuple[str, ...] = ("x-object-meta-*",)
    outgoing_allow_headers: tuple[str, ...] = (PUBLIC_META + "*",)


class Slo(msgspec.Struct, frozen=True):
    max_manifest_segments: int = MAX_MANIFEST_SEGMENTS
    max_manifest_size: int = MAX_MANIFEST_SIZE
    min_segment_size: int = 1


class Dlo(msgspec.Struct, frozen=True):
    max_segments: int = DLO_MAX_SEGMENTS


class BulkDelete(msgspec.Struct, frozen=True):
    max_deletes_per_request: int = MAX_DELETES_PER_REQUEST
    max_failed_deletes: int = MAX_FAILED_DELETES


class FormPost(msgspec.Struct, frozen=True):
    allowed_digests: tuple[str, ...] = ALLOWED_DIGESTS


class Symlink(msgspec.Struct, frozen=True):
    symloop_max: int = SYMLOOP_MAX
    static_links: bool = True


class BulkUpload(msgspec.Struct, frozen=True):
    max_containers_per_extraction: int = MAX_CONTAINERS_PER_EXTRACTION
    max_failed_extractions: int = MAX_FAILED_EXTRACTIONS


class Empty(msgspec.Struct, frozen=True):
    pass


class SwiftInfo(msgspec.Struct, frozen=True):
    swift: SwiftCapabilities
    tempurl: TempUrl = TempUrl()
    slo: Slo = Slo()
    dlo: Dlo = Dlo()
    bulk_delete: BulkDelete = BulkDelete()
    bulk_upload: BulkUpload = BulkUpload()
    account_quotas: Empty = Empty()
    container_quotas: Empty = Empty()
    versioned_writes: Empty = Empty()
    object_versioning: Empty = Empty()
    crossdomain: Empty = Empty()
    formpost: FormPost = FormPost()
    symlink: Symlink = Symlink()
    staticweb: Empty = Empty()


@routes.get("/info", allow_head=False)
async def info(request: web.Request) -> web.Response:
    """The capabilities document, `{"swift": {...}, "<middleware>": {...}, ...}`."""
    configured = policies(request)
    listed = tuple(Policy(p.name, p.name, p.name == configured.default) for p in configured)
    capabilities = SwiftCapabilities(max_file_size=max_object_size(request), policies=listed)
    return json_response(SwiftInfo(capabilities))
