"""Conditional requests on objects: If-Match, If-None-Match, If-Modified-Since and
If-Unmodified-Since, evaluated in RFC 7232's order."""

from collections.abc import Mapping
from datetime import datetime

from service.errors import PreconditionFailed
from service.objects.headers import parse_http_date


def _etags(value: str) -> set[str]:
    return {tag.strip().removeprefix("W/").strip('"') for tag in value.split(",")}


def _matches(value: str, etag: str) -> bool:
    tags = _etags(value)
    return "*" in tags or etag.strip('"') in tags


def not_modified(
    headers: Mapping[str, str], method: str, etag: str, last_modified: datetime
) -> bool:
    """Whether a GET or HEAD is answered 304 Not Modified.

    Raises PreconditionFailed (412) when If-Match or If-Unmodified-Since fails, or when
    If-None-Match matches for another method.
    """
    modified = last_modified.replace(microsecond=0)
    if_match = headers.get("If-Match")
    if if_match is not None and not _matches(if_match, etag):
        raise PreconditionFailed()
    unmodified_since = headers.get("If-Unmodified-Since")
    if if_match is None and unmodified_since is not None:
        since = parse_http_date(unmodified_since)
        if since is not None and modified > since:
            raise PreconditionFailed()
    reading = method in ("GET", "HEAD")
    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None:
        if not _matches(if_none_match, etag):
            return False
        if reading:
            return True
        raise PreconditionFailed()
    modified_since = headers.get("If-Modified-Since")
    if reading and modified_since is not None:
        since = parse_http_date(modified_since)
        return since is not None and modified <= since
    return False
