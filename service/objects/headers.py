"""Swift's metadata headers and the formats of its timestamps.

Metadata is kept under lower-case header names; `X-<Kind>-Meta-*` headers set user
metadata (`X-Remove-<Kind>-Meta-*` removes it, and so does an empty value on an account
or a container) and a few named system headers (ACLs, versioning, object headers such as
Content-Disposition) are kept the same way.
"""

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

import msgspec

from service.errors import BadRequest

MAX_META_NAME_LENGTH = 128
MAX_META_VALUE_LENGTH = 256
MAX_META_COUNT = 90
MAX_META_OVERALL_SIZE = 4096

CONTAINER_SYSTEM = (
    "x-container-read",
    "x-container-write",
    "x-versions-location",
    "x-history-location",
)
OBJECT_SYSTEM = (
    "content-disposition",
    "content-encoding",
    "content-language",
    "cache-control",
    "expires",
    "x-robots-tag",
    "x-object-manifest",
)


class MetadataChange(msgspec.Struct, frozen=True):
    """Metadata headers a request sets, and those it removes."""

    set: dict[str, str]
    removed: tuple[str, ...]

    def applied_to(self, metadata: Mapping[str, str]) -> dict[str, str]:
        merged = {k: v for k, v in metadata.items() if k not in self.removed}
        merged.update(self.set)
        return merged


def metadata_change(
    headers: Mapping[str, str], kind: str, system: Iterable[str] = ()
) -> MetadataChange:
    """The metadata change `headers` ask for on an `account`, `container` or `object`.

    An object's user metadata keeps an empty value, as Swift's does: each write of an
    object states its whole metadata, so an empty value there removes nothing. Raises
    BadRequest when a name or value is over Swift's limits.
    """
    prefix = f"x-{kind}-meta-"
    remove_prefix = f"x-remove-{kind}-meta-"
    names = set(system)
    set_: dict[str, str] = {}
    removed: list[str] = []
    for name, value in headers.items():
        lower = name.lower()
        if lower.startswith(remove_prefix):
            removed.append(prefix + lower[len(remove_prefix) :])
        elif lower.startswith("x-remove-") and "x-" + lower[len("x-remove-") :] in names:
            removed.append("x-" + lower[len("x-remove-") :])
        elif lower.startswith(prefix) or lower in names:
            user = lower.startswith(prefix)
            if user:
                _check_meta(lower[len(prefix) :], value)
            if value.strip() or (user and kind == "object"):
                set_[lower] = value.strip()
            else:
                removed.append(lower)
    return MetadataChange(set_, tuple(removed))


def _check_meta(name: str, value: str) -> None:
    if not name:
        raise BadRequest("Metadata name cannot be empty")
    if len(name) > MAX_META_NAME_LENGTH:
        raise BadRequest(f"Metadata name too long; max {MAX_META_NAME_LENGTH}")
    if len(value) > MAX_META_VALUE_LENGTH:
        raise BadRequest(f"Metadata value longer than {MAX_META_VALUE_LENGTH}")


def check_limits(metadata: Mapping[str, str], kind: str) -> None:
    """Raises BadRequest when the user metadata, as it would be stored, is over the
    count or overall-size limits."""
    prefix = f"x-{kind}-meta-"
    user = {k[len(prefix) :]: v for k, v in metadata.items() if k.startswith(prefix)}
    if len(user) > MAX_META_COUNT:
        raise BadRequest(f"Too many metadata items; max {MAX_META_COUNT}")
    if sum(len(k) + len(v) for k, v in user.items()) > MAX_META_OVERALL_SIZE:
        raise BadRequest(f"Total metadata too large; max {MAX_META_OVERALL_SIZE}")


def delete_at(headers: Mapping[str, str], now: float) -> int | None:
    """X-Delete-At, or `now` plus X-Delete-After; BadRequest if garbled or in the past."""
    try:
        if "X-Delete-At" in headers:
            at = int(headers["X-Delete-At"])
        elif "X-Delete-After" in headers:
            at = int(now + int(headers["X-Delete-After"]))
        else:
            return None
    except ValueError:
        raise BadRequest("Non-integer X-Delete-At or X-Delete-After") from None
    if at <= now:
        raise BadRequest("X-Delete-At in past")
    return at


def x_timestamp(at: datetime) -> str:
    """Swift's X-Timestamp: seconds since the epoch with five decimals."""
    return f"{at.timestamp():016.5f}"


def http_date(at: datetime) -> str:
    """An RFC 7231 date, rounded down to the second (Last-Modified)."""
    return format_datetime(at.astimezone(UTC).replace(microsecond=0), usegmt=True)


def parse_http_date(value: str) -> datetime | None:
    """The date of an If-Modified-Since style header, or None if it is not a date."""
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def listing_time(at: datetime) -> str:
    """The `last_modified` of listings: ISO 8601 in UTC with microseconds, no zone."""
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


def trans_id(request_id: str, at: datetime) -> str:
    """An X-Trans-Id in Swift's shape (`tx` + 21 hex digits + `-` + 10 hex digits of the
    time) made from the request id, so the two can be matched in logs."""
    digits = request_id.removeprefix("req-").replace("-", "")
    return f"tx{digits[:21]}-{int(at.timestamp()):010x}"
