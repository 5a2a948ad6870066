"""Glance's multiple stores: `GET /v2/info/stores` (their ids, descriptions and the
default one; `/detail`, for an admin, with their type and properties) and
`DELETE /v2/stores/{store_id}/{image_id}`, which removes an image's bytes from one store
(ImageRemovedFromStore, then the bytes), never from its last.
"""

from typing import Any

from aiohttp import web

from service.auth import caller
from service.errors import Conflict, Forbidden, NotFound
from service.http.body import json_response
from service.image import events as ev
from service.image.api.common import enforce, image_stores, must_see, record
from service.image.stores import ImageStore, ImageStores

routes = web.RouteTableDef()


def _store(store: ImageStore, stores: ImageStores, *, detail: bool) -> dict[str, Any]:
    """A store as Glance lists it (flags are the strings "true", as Glance sends them)."""
    body: dict[str, Any] = {"id": store.id}
    if store.description is not None:
        body["description"] = store.description
    if store.id == stores.default:
        body["default"] = "true"
    if detail:
        body |= {"type": store.type, "properties": store.properties, "weight": 0}
    return body


@routes.get("/v2/info/stores")
async def list_stores(request: web.Request) -> web.Response:
    caller(request)  # 401 without a token, as everywhere in Glance
    stores = image_stores(request)
    return json_response({"stores": [_store(s, stores, detail=False) for s in stores]})


@routes.get("/v2/info/stores/detail")
async def list_stores_detail(request: web.Request) -> web.Response:
    enforce(caller(request), "image:stores_info_detail")
    stores = image_stores(request)
    return json_response({"stores": [_store(s, stores, detail=True) for s in stores]})


@routes.delete("/v2/stores/{store_id}/{image_id}")
async def delete_from_store(request: web.Request) -> web.Response:
    """As Glance: 409 for a store that does not exist or an image that is not active,
    403 for the image's last store, 404 for a store it is not in."""
    store_id = request.match_info["store_id"]
    if image_stores(request).get(store_id) is None:
        raise Conflict(f"The selected store {store_id} is not available on this node.")
    image_id = request.match_info["image_id"]
    image = await must_see(request, image_id, "image:delete_image_location")
    if image.status != "active" or image.location is None:
        status = "It's not allowed to remove image data from store if image status is"
        raise Conflict(f"{status} not 'active'")
    if len(image.stores) == 1:
        last = "Cannot delete image data from the only store containing it."
        raise Forbidden(f"{last} Consider deleting the image instead.")
    if store_id not in image.stores:
        raise NotFound(f"Image {image_id} is not stored in store {store_id}.")
    removed = ev.ImageRemovedFromStore(image_id=image_id, store=store_id)
    await record(request, image_id, [removed], image.version)
    await image_stores(request).discard(image.location, (store_id,))
    return web.Response(status=204)
