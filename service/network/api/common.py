"""What every Neutron resource API shares: request bodies (one resource, or a list in
bulk; attributes given or not), Neutron's timestamps and common attributes, and listing
(filters, `fields`, sorting, pagination with `<resources>_links`)."""

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import msgspec
from aiohttp import web

from service.auth import AuthContext
from service.compute.directory import select
from service.errors import BadRequest
from service.http.body import json_response, read_json
from service.http.recording import base_url, store

T = TypeVar("T")

Json = dict[str, Any]

_PAGING = frozenset({"fields", "limit", "marker", "page_reverse", "sort_key", "sort_dir"})
_TRUE = {"true": True, "false": False, "1": True, "0": False}


def neutron_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def standard(project_id: str, created_at: datetime, updated_at: datetime, revision: int) -> Json:
    """The attributes every Neutron resource carries (standard-attr extensions)."""
    return {
        "tenant_id": project_id,
        "project_id": project_id,
        "tags": [],
        "created_at": neutron_time(created_at),
        "updated_at": neutron_time(updated_at),
        "revision_number": revision,
    }


def _matches(value: Any, wanted: list[str]) -> bool:
    if isinstance(value, bool):
        return any(_TRUE.get(w.lower()) is value for w in wanted)
    if isinstance(value, list):
        return any(w in (str(v) for v in value) for w in wanted)
    return any(w == ("" if value is None else str(value)) for w in wanted)


def _fixed_ips_match(item: Json, wanted: list[str]) -> bool:
    """Ports filtered by `fixed_ips=ip_address=...|subnet_id=...|ip_address_substr=...`."""
    for condition in wanted:
        key, _, value = condition.partition("=")
        ips = item.get("fixed_ips", [])
        if key == "ip_address_substr":
            found = any(value in ip["ip_address"] for ip in ips)
        elif key in ("ip_address", "subnet_id"):
            found = any(ip[key] == value for ip in ips)
        else:
            raise BadRequest(f"Invalid fixed_ips filter {condition!r}.")
        if not found:
            return False
    return True


def _sort_key(name: str) -> Callable[[Json], Any]:
    def key(item: Json) -> Any:
        value = item.get(name)
        return (value is None, "" if value is None else value)

    return key


def listing(request: web.Request, collection: str, items: Sequence[Json]) -> web.Response:
    """`{collection: [...]}` of the views in `items` that pass the query's filters,
    sorted, paged (`limit`, `marker`, `page_reverse`, with `<collection>_links`) and cut
    to the `fields` asked for, as Neutron lists."""
    query = request.query
    kept = list(items)
    for name in set(query) - _PAGING:
        wanted = query.getall(name)
        if name == "tenant_id":
            name = "project_id"
        if name == "fixed_ips":
            kept = [i for i in kept if _fixed_ips_match(i, wanted)]
        elif kept and name in kept[0]:
            kept = [i for i in kept if _matches(i[name], wanted)]
    keys = query.getall("sort_key", [])
    directions = query.getall("sort_dir", [])
    for index in reversed(range(len(keys))):
        direction = directions[index] if index < len(directions) else "asc"
        if direction not in ("asc", "desc"):
            raise BadRequest(f"Invalid sort direction {direction!r}.")
        if kept and keys[index] not in kept[0]:
            raise BadRequest(f"{keys[index]} is an invalid attribute for sort_keys.")
        kept.sort(key=_sort_key(keys[index]), reverse=direction == "desc")
    body: Json = {collection: kept}
    limit_text = query.get("limit")
    if limit_text is not None:
        body = _page(request, collection, kept, limit_text)
    fields = query.getall("fields", [])
    if fields:
        body[collection] = [{k: v for k, v in i.items() if k in fields} for i in body[collection]]
    return json_response(body)


def _page(request: web.Request, collection: str, items: list[Json], limit_text: str) -> Json:
    try:
        limit = int(limit_text)
    except ValueError:
        raise BadRequest(f"Invalid limit {limit_text!r}: it must be an integer.") from None
    if limit < 0:
        raise BadRequest("The limit must not be negative.")
    reverse = _TRUE.get(request.query.get("page_reverse", "false").lower(), False)
    ordered = list(reversed(items)) if reverse else items
    marker = request.query.get("marker")
    if marker is not None:
        ids = [i["id"] for i in ordered]
        if marker not in ids:
            raise BadRequest(f"Marker {marker} not found.")
        ordered = ordered[ids.index(marker) + 1 :]
    page = ordered[:limit] if limit else ordered
    links = []
    url = f"{base_url(request)}/network{request.path}"
    others = "&".join(f"{k}={v}" for k, v in request.query.items() if k not in ("marker",))
    if limit and len(ordered) > limit:
        links.append({"rel": "next", "href": f"{url}?{others}&marker={page[-1]['id']}"})
    if marker is not None and page:
        previous = f"{url}?{others}&marker={page[0]['id']}&page_reverse={not reverse}"
        links.append({"rel": "previous", "href": previous})
    body: Json = {collection: list(reversed(page)) if reverse else page}
    if links:
        body[f"{collection}_links"] = links
    return body


def one(key: str, view: Json, *, status: int = 200) -> web.Response:
    return json_response({key: view}, status=status)


def fields_of(request: web.Request, key: str, view: Json) -> web.Response:
    """One resource as `show` answers it: cut to the `fields` asked for."""
    fields = request.query.getall("fields", [])
    return one(key, {k: v for k, v in view.items() if k in fields} if fields else view)


async def read_items(
    request: web.Request, key: str, plural: str, type_: type[T]
) -> tuple[list[T], bool]:
    """The resources a create asks for: `{key: {...}}`, or `{plural: [...]}` in bulk
    (then True)."""
    body = await read_json(request, dict[str, Any])
    if set(body) == {key}:
        return [_convert(body[key], type_)], False
    if set(body) == {plural} and isinstance(body[plural], list) and body[plural]:
        return [_convert(item, type_) for item in body[plural]], True
    raise BadRequest(f"Resource body required: {key!r} or a non-empty list {plural!r}.")


def created(key: str, plural: str, shown: list[Json], bulk: bool) -> web.Response:
    """201 with the created resource, or the list of them for a bulk create."""
    return json_response({plural: shown} if bulk else {key: shown[0]}, status=201)


async def read_changes(request: web.Request, key: str, type_: type[T]) -> T:
    """The attributes an update sets: `{key: {...}}`."""
    body = await read_json(request, dict[str, Any])
    if set(body) != {key}:
        raise BadRequest(f"Resource body required: {key!r}.")
    return _convert(body[key], type_)


def _convert(value: Any, type_: type[T]) -> T:
    try:
        return msgspec.convert(value, type_)
    except msgspec.ValidationError as error:
        raise BadRequest(f"Invalid input for operation: {error}.") from None


def given(value: Any) -> bool:
    """Whether an attribute was in the request (not msgspec.UNSET)."""
    return value is not msgspec.UNSET


def or_default(value: T | msgspec.UnsetType, default: T) -> T:
    """The attribute the request gave, else `default`."""
    return default if isinstance(value, msgspec.UnsetType) else value


async def listable(
    request: web.Request, ctx: AuthContext, row_type: type[T], where: str = "project_id = $1"
) -> list[T]:
    """The rows of `row_type` the caller may list: all of them for an admin, else those
    `where` selects with the caller's project as $1."""
    pool = store(request).pool
    if ctx.is_admin:
        return await select(pool, row_type)
    return await select(pool, row_type, where, ctx.project_id)
