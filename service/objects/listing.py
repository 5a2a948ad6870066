"""Account and container listings: paging with prefix/delimiter/marker/end_marker/limit/
reverse/path, and the plain text, JSON and XML bodies Swift gives them."""

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Protocol, TypeVar
from xml.sax.saxutils import escape, quoteattr

import msgspec
from aiohttp import web

from service.errors import BadRequest, PreconditionFailed
from service.objects import symlink
from service.objects.directory import CountedContainer, ObjectVersion, Page, StoredObject
from service.objects.headers import listing_time

LISTING_LIMIT = 10000


class Named(Protocol):
    @property
    def name(self) -> str: ...


N = TypeVar("N", bound=Named)


class Subdir(msgspec.Struct, frozen=True):
    """A pseudo-folder: names sharing a prefix up to the delimiter, listed once."""

    subdir: str


class Query(msgspec.Struct, frozen=True):
    """What a listing request asks for."""

    page: Page
    limit: int
    delimiter: str
    format: str
    nested_only: bool
    """`path=`: only the objects directly under the path, no subdirs."""


def listing_query(request: web.Request) -> Query:
    """The listing parameters of a request; raises BadRequest for a garbled limit and
    PreconditionFailed (Swift's 412) for a limit over the listing limit."""
    q = request.query
    try:
        limit = int(q.get("limit", LISTING_LIMIT))
    except ValueError:
        raise BadRequest("Value of limit must be an integer.") from None
    if limit > LISTING_LIMIT or limit < 0:
        raise PreconditionFailed(f"Maximum limit is {LISTING_LIMIT}")
    prefix, delimiter, nested = q.get("prefix", ""), q.get("delimiter", ""), False
    if "path" in q:
        path = q["path"]
        prefix, delimiter, nested = (path.rstrip("/") + "/" if path else ""), "/", True
    page = Page(
        prefix=prefix,
        marker=q.get("marker", ""),
        end_marker=q.get("end_marker", ""),
        reverse=q.get("reverse", "").lower() in ("1", "true", "yes", "on", "t", "y"),
    )
    return Query(page, limit, delimiter, response_format(q.get("format"), request.headers), nested)


def response_format(given: str | None, headers: Mapping[str, str]) -> str:
    """`json`, `xml` or `plain`: the `format` asked for, else the Accept header's."""
    if given is not None:
        return given.lower() if given.lower() in ("json", "xml") else "plain"
    accept = headers.get("Accept", "")
    if "application/json" in accept:
        return "json"
    if "application/xml" in accept or "text/xml" in accept:
        return "xml"
    return "plain"


async def collect(
    fetch: Callable[[Page, int], Awaitable[Sequence[N]]], query: Query
) -> list[N | Subdir]:
    """Up to `limit` entries of the listing, rows folded into subdirs at the delimiter.

    After a subdir the next read skips every name under it, so one subdir of a million
    objects costs one row.
    """
    page, limit, delimiter = query.page, query.limit, query.delimiter
    entries: list[N | Subdir] = []
    while len(entries) < limit:
        wanted = limit - len(entries)
        rows = await fetch(page, wanted)
        for row in rows:
            rest = row.name[len(page.prefix) :]
            cut = rest.find(delimiter) if delimiter else -1
            if cut < 0:
                entries.append(row)
                page = msgspec.structs.replace(page, marker=row.name)
                continue
            subdir = page.prefix + rest[: cut + len(delimiter)]
            if not query.nested_only:
                entries.append(Subdir(subdir))
            after = (
                subdir if page.reverse else subdir[: -len(delimiter)] + chr(ord(delimiter[0]) + 1)
            )
            page = msgspec.structs.replace(page, marker=after)
            break
        else:
            if len(rows) < wanted:
                break
    return entries


def _name(entry: Named | Subdir) -> str:
    return entry.subdir if isinstance(entry, Subdir) else entry.name


def _json_entry(entry: CountedContainer | StoredObject | Subdir) -> dict[str, object]:
    match entry:
        case Subdir():
            return {"subdir": entry.subdir}
        case CountedContainer():
            return {
                "name": entry.name,
                "count": entry.object_count,
                "bytes": entry.bytes_used,
                "last_modified": listing_time(entry.updated_at),
                "storage_policy": entry.storage_policy,
            }
        case StoredObject():
            listed: dict[str, object] = {
                "name": entry.name,
                "hash": entry.etag,
                "bytes": entry.size,
                "content_type": entry.content_type,
                "last_modified": listing_time(entry.last_modified),
            }
            if isinstance(entry, ObjectVersion):
                listed |= {"version_id": entry.shown_id, "is_latest": entry.is_latest}
            return listed


def _symlink_of(entry: CountedContainer | StoredObject | Subdir) -> dict[str, object]:
    """A symlink's target in a JSON listing (Swift shows it in no other format)."""
    return symlink.listed(entry.metadata) if isinstance(entry, StoredObject) else {}


def _xml_entry(entry: CountedContainer | StoredObject | Subdir) -> str:
    if isinstance(entry, Subdir):
        return (
            f"<subdir name={quoteattr(entry.subdir)}><name>{escape(entry.subdir)}</name></subdir>"
        )
    tag = "container" if isinstance(entry, CountedContainer) else "object"
    fields = "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in _json_entry(entry).items())
    return f"<{tag}>{fields}</{tag}>"


def render(
    entries: Sequence[CountedContainer | StoredObject | Subdir],
    query: Query,
    *,
    root: str,
    name: str,
    headers: Mapping[str, str],
) -> web.Response:
    """The listing response: `root` is "account" or "container", `name` its name.
    An empty plain-text listing is 204 No Content, as in Swift."""
    match query.format:
        case "json":
            body = msgspec.json.encode([_json_entry(e) | _symlink_of(e) for e in entries])
            content_type = "application/json"
        case "xml":
            inner = "".join(_xml_entry(e) for e in entries)
            body = (
                f'<?xml version="1.0" encoding="UTF-8"?>\n'
                f"<{root} name={quoteattr(name)}>{inner}</{root}>"
            ).encode()
            content_type = "application/xml"
        case _:
            body = "".join(f"{_name(e)}\n" for e in entries).encode()
            content_type = "text/plain"
    status = 204 if not body else 200
    response = web.Response(body=body or None, status=status, headers=headers)
    response.content_type = content_type
    response.charset = "utf-8"
    return response
