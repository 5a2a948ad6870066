"""/v2/images: create, list, show, JSON-patch update, delete, deactivate/reactivate, tags;
and /v2/schemas."""

from typing import Any

from aiohttp import web

from events.store import NO_STREAM, StreamAppend
from service.auth import AuthContext, caller
from service.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    RequestEntityTooLarge,
    UnsupportedMediaType,
)
from service.http.body import json_response, read_json
from service.http.recording import new_uuid, store
from service.image import events as ev
from service.image import listing, patch, quota, views
from service.image.api import imports
from service.image.api.common import (
    enforce,
    image_stores,
    must_see,
    record,
    record_claimed,
    stream,
)
from service.image.attributes import check_settable, check_value, is_core
from service.image.directory import Image, get_image, page, visible_image
from service.image.schema import MAX_TAG, SCHEMAS

routes = web.RouteTableDef()
MAX_TAGS = 128
_UUID_SHAPE = (8, 4, 4, 4, 12)


@routes.post("/v2/images")
async def create_image(request: web.Request) -> web.Response:
    body = await read_json(request, dict[str, Any])
    image_id = _requested_id(body.pop("id", None)) or new_uuid(request)
    image = await new_image(request, image_id, body)
    # The headers tell clients (openstacksdk, the CLI's --import) which import methods
    # work and which stores there are.
    headers = {
        "Location": f"/v2/images/{image_id}",
        "OpenStack-image-import-methods": ",".join(imports.METHODS),
        "OpenStack-image-store-ids": ",".join(s.id for s in image_stores(request)),
    }
    return json_response(views.image(image), status=201, headers=headers)


async def new_image(request: web.Request, image_id: str, body: dict[str, Any]) -> Image:
    """Create the `queued` image `image_id` with the attributes of `body` (core and custom
    properties) for the caller, claiming one image on its owner's quota. BadRequest (400)
    for an attribute that cannot be set so, Forbidden (403), OverQuota (413), Conflict
    (409) if the id is taken."""
    owner, core, properties = new_image_attributes(caller(request), body)
    created = ev.ImageCreated(image_id=image_id, owner=owner, properties=properties, **core)
    appends = [StreamAppend(stream(image_id), [created], NO_STREAM)]
    for _ in range(quota.ATTEMPTS):
        try:
            if await record_claimed(request, owner, image_id, appends, images=1):
                break
        except Conflict:
            raise Conflict(f"Image with identifier {image_id} already exists!") from None
    else:
        raise Conflict("Too many images are being created at once; retry the request.")
    image = await get_image(store(request).pool, image_id)
    assert image is not None  # the inline projection wrote it in the append
    return image


def new_image_attributes(
    ctx: AuthContext, body: dict[str, Any]
) -> tuple[str | None, dict[str, Any], dict[str, str]]:
    """The owner, core attributes and custom properties of a new image `ctx` creates
    with `body`, once each may be set so (BadRequest, 400) by `ctx` (Forbidden, 403)."""
    core: dict[str, Any] = {}
    properties: dict[str, str] = {}
    for name, value in body.items():
        check_settable(name)
        (core if is_core(name) else properties)[name] = check_value(name, value)
    owner = core.pop("owner", ctx.project_id)
    if owner != ctx.project_id:
        enforce(ctx, "image:set_image_owner")
    enforce(ctx, "image:add_image", {"project_id": owner})
    _check_visibility(ctx, core.get("visibility"), owner)
    return owner, core, properties


@routes.get("/v2/images")
async def list_images(request: web.Request) -> web.Response:
    ctx = caller(request)
    enforce(ctx, "image:get_images")
    query = listing.parse(request.query, ctx)
    pool = store(request).pool
    if query.marker is not None and await visible_image(pool, ctx, query.marker) is None:
        raise BadRequest(f"No image found with ID {query.marker}")
    found = await page(pool, query.where, query.args, query.order, query.limit, query.marker)
    return json_response(views.images(found, request.query, query.limit))


@routes.get("/v2/images/{image_id}")
async def show_image(request: web.Request) -> web.Response:
    image = await must_see(request, request.match_info["image_id"])
    return json_response(views.image(image))


@routes.patch("/v2/images/{image_id}")
async def update_image(request: web.Request) -> web.Response:
    if request.content_type not in patch.MEDIA_TYPES:
        raise UnsupportedMediaType(
            f"Unsupported Content-Type {request.content_type}; use {patch.V21}."
        )
    image = await must_see(request, request.match_info["image_id"], "image:modify_image")
    changes = patch.apply(image, patch.decode(await request.read(), request.content_type))
    ctx = caller(request)
    if "owner" in changes:
        enforce(ctx, "image:set_image_owner")
    if "visibility" in changes:
        _check_visibility(ctx, changes["visibility"], image.owner)
    if changes:
        await record(request, image.id, [ev.ImageUpdated(image_id=image.id, **changes)],
                     image.version)  # fmt: skip
    return json_response(views.image(await _reread(request, image.id)))


@routes.delete("/v2/images/{image_id}")
async def delete_image(request: web.Request) -> web.Response:
    image = await must_see(request, request.match_info["image_id"], "image:delete_image")
    if image.protected:
        raise Forbidden(f"Image {image.id} is protected and cannot be deleted.")
    stores = tuple(image.stores)
    deleted = ev.ImageDeleted(image_id=image.id, location=image.location, stores=stores)
    await record(request, image.id, [deleted], image.version)
    if image.location is not None:
        # Bytes with no store are staged ones, in the default store.
        await image_stores(request).discard(image.location, stores or (ev.DEFAULT_STORE,))
    return web.Response(status=204)


@routes.post("/v2/images/{image_id}/actions/deactivate")
async def deactivate_image(request: web.Request) -> web.Response:
    image = await must_see(request, request.match_info["image_id"], "image:deactivate")
    if image.status not in ("active", "deactivated"):
        raise Forbidden(f"Not allowed to deactivate image in status '{image.status}'")
    if image.status == "active":
        await record(request, image.id, [ev.ImageDeactivated(image_id=image.id)], image.version)
    return web.Response(status=204)


@routes.post("/v2/images/{image_id}/actions/reactivate")
async def reactivate_image(request: web.Request) -> web.Response:
    image = await must_see(request, request.match_info["image_id"], "image:reactivate")
    if image.status not in ("active", "deactivated"):
        raise Forbidden(f"Not allowed to reactivate image in status '{image.status}'")
    if image.status == "deactivated":
        await record(request, image.id, [ev.ImageReactivated(image_id=image.id)], image.version)
    return web.Response(status=204)


@routes.put("/v2/images/{image_id}/tags/{tag}")
async def add_tag(request: web.Request) -> web.Response:
    image = await must_see(request, request.match_info["image_id"], "image:modify_image")
    tag = request.match_info["tag"]
    if len(tag) > MAX_TAG:
        raise BadRequest(f"Tag is too long: at most {MAX_TAG} characters.")
    if tag not in image.tags:
        if len(image.tags) >= MAX_TAGS:
            raise RequestEntityTooLarge(f"Maximum number of tags exceeded: {MAX_TAGS}.")
        await record(request, image.id, [ev.ImageTagAdded(image_id=image.id, tag=tag)],
                     image.version)  # fmt: skip
    return web.Response(status=204)


@routes.delete("/v2/images/{image_id}/tags/{tag}")
async def delete_tag(request: web.Request) -> web.Response:
    image = await must_see(request, request.match_info["image_id"], "image:modify_image")
    tag = request.match_info["tag"]
    if tag not in image.tags:
        raise NotFound(f"Tag {tag} not found.")
    await record(request, image.id, [ev.ImageTagRemoved(image_id=image.id, tag=tag)],
                 image.version)  # fmt: skip
    return web.Response(status=204)


@routes.get("/v2/schemas/{name:.+}")
async def show_schema(request: web.Request) -> web.Response:
    schema = SCHEMAS.get(request.match_info["name"])
    if schema is None:
        raise NotFound(f"No schema named {request.match_info['name']}.")
    return json_response(schema())


def _requested_id(value: Any) -> str | None:
    """A caller-chosen image id, which must be a UUID in its canonical text; BadRequest
    otherwise."""
    if value is None:
        return None
    if (
        not isinstance(value, str)
        or tuple(map(len, value.split("-"))) != _UUID_SHAPE
        or any(c not in "0123456789abcdefABCDEF-" for c in value)
    ):
        raise BadRequest(f"Invalid value for attribute 'id': {value!r} is not a UUID.")
    return value.lower()


def _check_visibility(ctx: AuthContext, visibility: str | None, owner: str | None) -> None:
    """Forbidden unless `ctx` may give an image of `owner` this visibility."""
    target = {"project_id": owner}
    if visibility == "public":
        enforce(ctx, "image:publicize_image", target)
    elif visibility == "community":
        enforce(ctx, "image:communitize_image", target)


async def _reread(request: web.Request, image_id: str) -> Image:
    """The image as it is now; NotFound if it was deleted meanwhile."""
    image = await get_image(store(request).pool, image_id)
    if image is None:
        raise NotFound(f"No image found with ID {image_id}")
    return image
