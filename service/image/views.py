"""Glance v2 JSON representations of images, pages of them and members."""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from multidict import MultiMapping

from service.image.directory import Image, Member

Json = dict[str, Any]
_CORE_FIELDS = (
    "name", "disk_format", "container_format", "visibility", "size", "virtual_size", "status",
    "checksum", "protected", "min_ram", "min_disk", "owner", "os_hidden", "os_hash_algo",
    "os_hash_value",
)  # fmt: skip


def isotime(at: datetime) -> str:
    """Glance's timestamp: UTC to the second, with a Z."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def image(i: Image) -> Json:
    """An image as Glance shows it: custom properties flattened beside the core ones, and
    the stores holding its bytes, if any."""
    body: Json = dict(i.properties)
    body.update({name: getattr(i, name) for name in _CORE_FIELDS})
    body.update({
        "id": i.id, "created_at": isotime(i.created_at), "updated_at": isotime(i.updated_at),
        "tags": sorted(i.tags), "self": f"/v2/images/{i.id}", "file": f"/v2/images/{i.id}/file",
        "schema": "/v2/schemas/image",
    })  # fmt: skip
    if i.stores:
        body["stores"] = ",".join(i.stores)
    return body


def images(items: Sequence[Image], query: MultiMapping[str], limit: int) -> Json:
    """A page: its images, `first` (the query without the marker), and `next` when the page
    is full (the same query from the page's last image)."""
    params = [(k, v) for k, v in query.items() if k != "marker"]
    body: Json = {
        "images": [image(i) for i in items],
        "first": "/v2/images" + (f"?{urlencode(params)}" if params else ""),
        "schema": "/v2/schemas/images",
    }
    if items and len(items) == limit:
        body["next"] = "/v2/images?" + urlencode([*params, ("marker", items[-1].id)])
    return body


def member(m: Member) -> Json:
    return {
        "image_id": m.image_id, "member_id": m.member_id, "status": m.status,
        "created_at": isotime(m.created_at), "updated_at": isotime(m.updated_at),
        "schema": "/v2/schemas/member",
    }  # fmt: skip
