"""Nova's image proxy (up to 2.35): the image service's images as Nova shows them, listed
(brief or detailed, with Nova's filters), shown and deleted, and their metadata (the
images' custom properties) read and written through the image service's own rules."""

from typing import Annotated, Any

import msgspec
from aiohttp import web
from msgspec import Meta
from multidict import MultiDict

from service.auth import caller
from service.compute.api.microversion import version_of
from service.compute.server_view import nova_time
from service.errors import BadRequest, Forbidden, NotFound
from service.http.body import json_response, read_json
from service.http.recording import base_url, store
from service.image import events as image_events
from service.image import listing
from service.image.api import images as glance_images
from service.image.api.common import must_see, record
from service.image.directory import Image, page, visible_image

ROUTES = web.RouteTableDef()

MetaKey = Annotated[str, Meta(min_length=1, max_length=255)]
MetaValue = Annotated[str, Meta(max_length=255)]
MAX_METADATA = 128
"""Nova's default metadata_items quota, which an image's metadata may not pass."""
_STATUS = {
    "active": "ACTIVE",
    "saving": "SAVING",
    "queued": "SAVING",
    "deleted": "DELETED",
    "killed": "ERROR",
    "deactivated": "ERROR",
}
_GLANCE_STATUS = {
    "ACTIVE": "active",
    "SAVING": "in:queued,saving",
    "ERROR": "in:killed,deactivated",
}
"""The image service's statuses of Nova's (the others are its own, lower-cased)."""


class Metadata(msgspec.Struct):
    metadata: dict[MetaKey, MetaValue]


class MetaItem(msgspec.Struct):
    meta: dict[MetaKey, MetaValue]


def _links(request: web.Request, image_id: str) -> list[dict[str, str]]:
    base = base_url(request)
    return [
        {"rel": "self", "href": f"{base}/compute/v2.1/images/{image_id}"},
        {"rel": "bookmark", "href": f"{base}/compute/images/{image_id}"},
        {
            "rel": "alternate",
            "type": "application/vnd.openstack.image",
            "href": f"{base}/image/v2/images/{image_id}",
        },
    ]


def brief(request: web.Request, image: Image) -> dict[str, Any]:
    return {"id": image.id, "name": image.name, "links": _links(request, image.id)}


def detail(request: web.Request, image: Image) -> dict[str, Any]:
    """The image as Nova shows it, with the server it is a snapshot of if any."""
    status = _STATUS.get(image.status, "UNKNOWN")
    body = brief(request, image) | {
        "status": status,
        "created": nova_time(image.created_at),
        "updated": nova_time(image.updated_at),
        "minDisk": image.min_disk,
        "minRam": image.min_ram,
        "progress": {"ACTIVE": 100, "SAVING": 25}.get(status, 0),
        "metadata": image.properties,
        "OS-EXT-IMG-SIZE:size": image.size,
    }
    instance = image.properties.get("instance_uuid")
    if instance:
        base = base_url(request)
        body["server"] = {
            "id": instance,
            "links": [
                {"rel": "self", "href": f"{base}/compute/v2.1/servers/{instance}"},
                {"rel": "bookmark", "href": f"{base}/compute/servers/{instance}"},
            ],
        }
    return body


def _proxy(request: web.Request) -> None:
    if version_of(request).at_least("2.36"):
        raise NotFound("The resource could not be found.")


def glance_query(request: web.Request) -> MultiDict[str]:
    """Nova's image filters as the image service's listing takes them: name, status (as
    Nova names it), changes-since, server (its id or link: the snapshots of it), type
    (snapshot or backup), limit (all, up to the image service's most, by default) and
    marker."""
    nova = request.query
    query: MultiDict[str] = MultiDict(limit=nova.get("limit", str(listing.MAX_LIMIT)))
    if "name" in nova:
        query["name"] = nova["name"]
    if "status" in nova:
        query["status"] = _GLANCE_STATUS.get(nova["status"].upper(), nova["status"].lower())
    if "changes-since" in nova:
        query["updated_at"] = f"gte:{nova['changes-since']}"
    if "server" in nova:
        query["instance_uuid"] = nova["server"].rstrip("/").rsplit("/", 1)[-1]
    if "type" in nova:
        query["image_type"] = nova["type"]
    if "marker" in nova:
        query["marker"] = nova["marker"]
    return query


async def _listed(request: web.Request) -> list[Image]:
    _proxy(request)
    found = listing.parse(glance_query(request), caller(request))
    return await page(
        store(request).pool, found.where, found.args, found.order, found.limit, found.marker
    )


@ROUTES.get("/v2.1/images")
async def list_images(request: web.Request) -> web.Response:
    return json_response({"images": [brief(request, i) for i in await _listed(request)]})


@ROUTES.get("/v2.1/images/detail")
async def list_images_detail(request: web.Request) -> web.Response:
    return json_response({"images": [detail(request, i) for i in await _listed(request)]})


@ROUTES.get("/v2.1/images/{image_id}")
async def show_image(request: web.Request) -> web.Response:
    _proxy(request)
    image = await visible_image(
        store(request).pool, caller(request), request.match_info["image_id"]
    )
    if image is None:
        raise NotFound("Image not found.")
    return json_response({"image": detail(request, image)})


@ROUTES.delete("/v2.1/images/{image_id}")
async def delete_image(request: web.Request) -> web.StreamResponse:
    """Nova's proxy deletes through the image service itself (same rules, same 204)."""
    _proxy(request)
    return await glance_images.delete_image(request)


# --- metadata: the image's custom properties ---------------------------------------------


async def _image(request: web.Request, action: str = "image:get_image") -> Image:
    _proxy(request)
    return await must_see(request, request.match_info["image_id"], action)


async def _set(request: web.Request, image: Image, properties: dict[str, str]) -> None:
    """The image's custom properties become `properties`; 403 past Nova's metadata quota."""
    if len(properties) > MAX_METADATA:
        raise Forbidden(f"Quota exceeded for metadata_items: limit is {MAX_METADATA}.")
    updated = image_events.ImageUpdated(image_id=image.id, properties=properties)
    await record(request, image.id, [updated], image.version)


@ROUTES.get("/v2.1/images/{image_id}/metadata")
async def list_image_metadata(request: web.Request) -> web.Response:
    return json_response({"metadata": (await _image(request)).properties})


@ROUTES.post("/v2.1/images/{image_id}/metadata")
async def update_image_metadata(request: web.Request) -> web.Response:
    """Items added or changed; the image's whole metadata in the answer."""
    image = await _image(request, "image:modify_image")
    merged = image.properties | (await read_json(request, Metadata)).metadata
    await _set(request, image, merged)
    return json_response({"metadata": merged})


@ROUTES.put("/v2.1/images/{image_id}/metadata")
async def replace_image_metadata(request: web.Request) -> web.Response:
    image = await _image(request, "image:modify_image")
    replaced = (await read_json(request, Metadata)).metadata
    await _set(request, image, replaced)
    return json_response({"metadata": replaced})


@ROUTES.get("/v2.1/images/{image_id}/metadata/{key}")
async def show_image_metadata_item(request: web.Request) -> web.Response:
    image, key = await _image(request), request.match_info["key"]
    if key not in image.properties:
        raise NotFound(f"Image {image.id} has no metadata item {key}.")
    return json_response({"meta": {key: image.properties[key]}})


@ROUTES.put("/v2.1/images/{image_id}/metadata/{key}")
async def set_image_metadata_item(request: web.Request) -> web.Response:
    image, key = await _image(request, "image:modify_image"), request.match_info["key"]
    item = (await read_json(request, MetaItem)).meta
    if list(item) != [key]:
        raise BadRequest("Request body and URI mismatch")
    await _set(request, image, image.properties | item)
    return json_response({"meta": item})


@ROUTES.delete("/v2.1/images/{image_id}/metadata/{key}")
async def delete_image_metadata_item(request: web.Request) -> web.Response:
    image, key = await _image(request, "image:modify_image"), request.match_info["key"]
    if key not in image.properties:
        raise NotFound(f"Image {image.id} has no metadata item {key}.")
    await _set(request, image, {k: v for k, v in image.properties.items() if k != key})
    return web.Response(status=204)
