"""/v2/images/{id}/members: the owner shares a `shared` image with other projects; each
member project accepts or rejects it (and sees it in its default listing once accepted)."""

import msgspec
from aiohttp import web

from service.auth import caller
from service.errors import BadRequest, Conflict, Forbidden, NotFound
from service.http.body import json_response, read_json
from service.http.recording import store
from service.image import events as ev
from service.image import views
from service.image.api.common import enforce, must_see, record
from service.image.directory import Image, Member, member, members

routes = web.RouteTableDef()
MEMBER_STATUSES = ("pending", "accepted", "rejected")


class NewMember(msgspec.Struct):
    member: str


class MemberStatus(msgspec.Struct):
    status: str


@routes.post("/v2/images/{image_id}/members")
async def add_member(request: web.Request) -> web.Response:
    image = await must_see(request, request.match_info["image_id"], "image:add_member")
    if image.visibility != "shared":
        raise Forbidden(f"Image members cannot be added to image {image.id}: it is "
                        f"{image.visibility}, not shared.")  # fmt: skip
    member_id = (await read_json(request, NewMember)).member
    if await member(store(request).pool, image.id, member_id) is not None:
        raise Conflict(f"Member {member_id} already exists on image {image.id}.")
    added = ev.ImageMemberAdded(image_id=image.id, member_id=member_id)
    await record(request, image.id, [added], image.version)
    return json_response(views.member(await _must_get(request, image, member_id)))


@routes.get("/v2/images/{image_id}/members")
async def list_members(request: web.Request) -> web.Response:
    image = await must_see(request, request.match_info["image_id"])
    everyone = await members(store(request).pool, image.id)
    ctx = caller(request)
    if not (ctx.is_admin or image.owner == ctx.project_id):
        everyone = [m for m in everyone if m.member_id == ctx.project_id]
    return json_response(
        {"members": [views.member(m) for m in everyone], "schema": "/v2/schemas/members"}
    )


@routes.get("/v2/images/{image_id}/members/{member_id}")
async def show_member(request: web.Request) -> web.Response:
    image = await must_see(request, request.match_info["image_id"])
    member_id = request.match_info["member_id"]
    ctx = caller(request)
    if not (ctx.is_admin or ctx.project_id in (image.owner, member_id)):
        raise NotFound(f"Member {member_id} not found on image {image.id}.")
    return json_response(views.member(await _must_get(request, image, member_id)))


@routes.put("/v2/images/{image_id}/members/{member_id}")
async def update_member(request: web.Request) -> web.Response:
    image = await must_see(request, request.match_info["image_id"])
    member_id = request.match_info["member_id"]
    found = await _must_get(request, image, member_id)
    enforce(caller(request), "image:modify_member", {"member_id": member_id})
    status = (await read_json(request, MemberStatus)).status
    if status not in MEMBER_STATUSES:
        raise BadRequest(
            f"Invalid status: {status}; it must be one of " + ", ".join(MEMBER_STATUSES)
        )
    if status != found.status:
        changed = ev.ImageMemberStatusChanged(image_id=image.id, member_id=member_id,
                                              status=status)  # fmt: skip
        await record(request, image.id, [changed], image.version)
    return json_response(views.member(await _must_get(request, image, member_id)))


@routes.delete("/v2/images/{image_id}/members/{member_id}")
async def delete_member(request: web.Request) -> web.Response:
    image = await must_see(request, request.match_info["image_id"], "image:delete_member")
    member_id = request.match_info["member_id"]
    await _must_get(request, image, member_id)
    removed = ev.ImageMemberRemoved(image_id=image.id, member_id=member_id)
    await record(request, image.id, [removed], image.version)
    return web.Response(status=204)


async def _must_get(request: web.Request, image: Image, member_id: str) -> Member:
    found = await member(store(request).pool, image.id, member_id)
    if found is None:
        raise NotFound(f"Member {member_id} not found on image {image.id}.")
    return found
