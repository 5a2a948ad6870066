"""Nova's `limit` and `marker` paging over a listing already in its order, as the
microversions that added it to a resource page it (hypervisors 2.33, keypairs 2.35,
simple tenant usage 2.40): at most `limit` (Nova's max_limit, 1000, when none is
given) items after the marker's, and a `next` link when a page is full."""

from collections.abc import Callable, Sequence
from typing import TypeVar
from urllib.parse import urlencode

from aiohttp import web

from service.compute.api.params import integer
from service.errors import BadRequest
from service.http.recording import base_url

MAX_LIMIT = 1000
T = TypeVar("T")


def page(request: web.Request, items: Sequence[T], key: Callable[[T], str]) -> list[T]:
    """The items after the one whose `key` is the query's `marker`, up to its `limit`;
    BadRequest (400) for a limit that is not a whole number or a marker not listed."""
    limit = limit_of(request)
    marker = request.query.get("marker")
    start = 0
    if marker is not None:
        keys = [key(item) for item in items]
        if marker not in keys:
            raise BadRequest(f"Marker {marker} could not be found.")
        start = keys.index(marker) + 1
    return list(items[start : start + limit])


def limit_of(request: web.Request) -> int:
    """The query's `limit`, at most MAX_LIMIT (MAX_LIMIT if none is given)."""
    text = request.query.get("limit")
    return MAX_LIMIT if text is None else min(integer("limit", text, 0), MAX_LIMIT)


def next_link(
    request: web.Request, shown: Sequence[T], key: Callable[[T], str]
) -> list[dict[str, str]]:
    """`[{"rel": "next", "href": ...}]` to the page after `shown` when it is full, the
    request's other query parameters kept; [] otherwise."""
    if not shown or len(shown) < limit_of(request):
        return []
    query = dict(request.query) | {"marker": key(shown[-1])}
    path = request.path.split("/compute/", 1)[-1]
    return [{"rel": "next", "href": f"{base_url(request)}/compute/{path}?{urlencode(query)}"}]
