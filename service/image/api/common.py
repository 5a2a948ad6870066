"""What every image handler shares: the caller's view of an image, policy, and recording
events against the version of the image the decision was made on (with a claim on the
owner's quota when they take some)."""

from collections.abc import Sequence
from typing import Any

from aiohttp import web

from events.store import ExpectedVersion, StreamAppend
from events.types import Event
from service.auth import AuthContext, caller
from service.errors import Conflict, Forbidden, NotFound
from service.http import recording
from service.http.recording import record_streams, store
from service.image import quota
from service.image.directory import Image, get_image, visible_image
from service.image.policy_rules import RULES
from service.image.stores import IMAGE_STORES, ImageStores


def image_stores(request: web.Request) -> ImageStores:
    return request.config_dict[IMAGE_STORES]


async def discard_unheld(
    request: web.Request, image_id: str, location: str, stores: Sequence[str]
) -> None:
    """Delete the bytes at `location` from those of `stores` that the image does not hold
    now: of two imports of the same staged bytes, the one that lost must not delete what
    the other activated the image with."""
    now = await get_image(store(request).pool, image_id)
    held = now.stores if now is not None and now.location == location else []
    await image_stores(request).discard(location, [s for s in stores if s not in held])


def stream(image_id: str) -> str:
    return f"image-{image_id}"


def enforce(ctx: AuthContext, action: str, target: Image | dict[str, Any] | None = None) -> None:
    """Forbidden (403) unless the image rule `action` allows `ctx` on `target` (an image,
    whose owner is the rule's `project_id`, or the rule's target itself)."""
    if isinstance(target, Image):
        target = {"project_id": target.owner, "visibility": target.visibility}
    rule = RULES.get(action)
    if rule is None or not rule(ctx, target or {}):
        what = action.removeprefix("image:")
        raise Forbidden(f"You are not authorized to complete {what} action.")


async def must_see(request: web.Request, image_id: str, action: str = "image:get_image") -> Image:
    """The image, once `action` is allowed on it; NotFound (404) if the caller may not see
    it, as if it did not exist, and Forbidden (403) if it may see it but not do `action`."""
    ctx = caller(request)
    found = await visible_image(store(request).pool, ctx, image_id)
    if found is None:
        raise NotFound(f"No image found with ID {image_id}")
    enforce(ctx, action, found)
    return found


async def record(
    request: web.Request, image_id: str, events: Sequence[Event], expected: ExpectedVersion
) -> None:
    """Append the image's events for this request, expecting the stream at `expected`;
    Conflict (409) if the image changed meanwhile."""
    await recording.record(request, stream(image_id), events, expected)


async def record_claimed(
    request: web.Request, project_id: str | None, image_id: str,
    appends: Sequence[StreamAppend], *, images: int = 0, size: int = 0, uploading: int = 0,
    staged: int = 0,
) -> bool:  # fmt: skip
    """Record `appends` with the claim of `images`, `size`, `uploading` and `staged` on
    the project's quota (none for an image without owner, or for nothing). False when
    another claim came first: read again and call again. OverQuota (413) if they do not
    fit; Conflict (409) if one of `appends` was not at its expected version."""
    if project_id is None or images == size == uploading == staged == 0:
        await record_streams(request, appends)
        return True
    claimed = await quota.claim(
        store(request), project_id, image_id,
        images=images, size=size, uploading=uploading, staged=staged,
    )  # fmt: skip
    try:
        await record_streams(request, [*appends, claimed])
    except Conflict:
        now = await store(request).stream_version(quota.stream(project_id))
        if now != claimed.expected_version:
            return False  # another claim came first
        raise
    return True
