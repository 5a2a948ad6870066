"""Sorting and paging the objects or tags of one namespace as Glance's listings do:
`sort_key` (created_at, updated_at or name), `sort_dir` (desc unless asc), `limit`, and
`marker` (the name of the item the page starts after)."""

from multidict import MultiMapping

from service.errors import BadRequest
from service.image.listing import page_size
from service.image.metadefs.directory import Item

SORT_KEYS = ("created_at", "updated_at", "name")


def sort_dir(query: MultiMapping[str]) -> str:
    """`sort_dir`, desc unless given; BadRequest unless asc or desc."""
    direction = query.get("sort_dir", "desc")
    if direction not in ("asc", "desc"):
        raise BadRequest(f"Invalid sort direction: {direction}")
    return direction


def sort_key(query: MultiMapping[str], keys: tuple[str, ...]) -> str:
    """`sort_key`, created_at unless given; BadRequest unless one of `keys`."""
    key = query.get("sort_key", "created_at")
    if key not in keys:
        raise BadRequest(f"Invalid sort key: {key}. It should be one of: {', '.join(keys)}.")
    return key


def page(items: list[Item], query: MultiMapping[str]) -> list[Item]:
    """The items the query asks for, in its order (ties in the order they were made);
    BadRequest when the marker names none of them."""
    key = sort_key(query, SORT_KEYS)
    ordered = [
        item
        for _, item in sorted(
            enumerate(items), key=lambda p: (p[1][key], p[0]), reverse=sort_dir(query) == "desc"
        )
    ]
    marker = query.get("marker")
    if marker is not None:
        names = [item["name"] for item in ordered]
        if marker not in names:
            raise BadRequest(f"Invalid marker: no item named {marker}.")
        ordered = ordered[names.index(marker) + 1 :]
    return ordered[: page_size(query)]
