"""/v3/users: create, list, show, update, delete, change own password, groups of a user."""

from typing import Annotated, Any

import msgspec
from aiohttp import web
from msgspec import UNSET, Meta

from events.store import NO_STREAM
from events.types import Event
from service.auth import caller
from service.errors import BadRequest
from service.http.body import json_response, read_json
from service.http.request_id import event_metadata
from service.identity import events as ev
from service.identity import views
from service.identity.api.common import (
    authorized,
    base_url,
    filters,
    identity,
    must_get,
    new_id,
    record,
    store,
)
from service.identity.api.projects import default_domain
from service.identity.directory import Domain, Group, Project, User, select
from service.policy import enforce

Name = Annotated[str, Meta(min_length=1, max_length=255, pattern=r"\S")]
Password = Annotated[str, Meta(max_length=4096)]
routes = web.RouteTableDef()
_KNOWN = {"name", "domain_id", "password", "enabled", "default_project_id", "description",
          "email", "options", "id", "links", "password_expires_at"}  # fmt: skip


class NewUser(msgspec.Struct):
    name: Name
    domain_id: str | None = None
    password: Password | None = None
    enabled: bool = True
    default_project_id: str | None = None
    description: str | None = None
    email: str | None = None
    options: dict[str, Any] = {}


class UserChanges(msgspec.Struct):
    name: Name | msgspec.UnsetType = UNSET
    password: Password | None | msgspec.UnsetType = UNSET
    enabled: bool | msgspec.UnsetType = UNSET
    default_project_id: str | None | msgspec.UnsetType = UNSET
    description: str | None | msgspec.UnsetType = UNSET
    email: str | None | msgspec.UnsetType = UNSET
    options: dict[str, Any] | msgspec.UnsetType = UNSET
    domain_id: str | msgspec.UnsetType = UNSET


class Wrapped(msgspec.Struct):
    user: dict[str, Any]


class PasswordChange(msgspec.Struct):
    password: Password
    original_password: Password


class ChangePassword(msgspec.Struct):
    user: PasswordChange


def _duplicate(name: str, domain_id: str) -> str:
    return (
        "Conflict occurred attempting to store user - Duplicate entry found with name "
        f"{name} at domain ID {domain_id}."
    )


def _split(body: dict[str, Any], type_: type[msgspec.Struct]) -> tuple[Any, dict[str, Any]]:
    """The known attributes as `type_`, and the extra ones Keystone keeps as they are."""
    try:
        known = msgspec.convert({k: v for k, v in body.items() if k in _KNOWN}, type_)
    except msgspec.ValidationError as error:
        raise BadRequest(f"Invalid input for field/attribute user: {error}") from None
    extra = {k: v for k, v in body.items() if k not in _KNOWN}
    return known, extra


async def _user_in_path(request: web.Request, action: str) -> User:
    user_id = request.match_info["user_id"]

    def target(user: User | None) -> dict[str, Any]:
        return {"user_id": user_id, "domain_id": user.domain_id if user else None}

    return await authorized(request, User, user_id, action, target)


@routes.post("/v3/users")
async def create_user(request: web.Request) -> web.Response:
    ctx = caller(request)
    body, extra = _split((await read_json(request, Wrapped)).user, NewUser)
    domain_id = body.domain_id or default_domain(ctx)
    enforce(ctx, "identity:create_user", {"domain_id": domain_id})
    await must_get(request, Domain, domain_id)
    if body.default_project_id:
        await must_get(request, Project, body.default_project_id)
    password_hash = expires_at = None
    if body.password is not None:
        await identity(request).check_new_password(None, body.password, self_service=False)
        password_hash = await identity(request).hash_password(body.password)
        expires_at = identity(request).password_expires_at()
    user_id = new_id(request)
    created = ev.UserCreated(
        user_id=user_id, name=body.name, domain_id=domain_id, enabled=body.enabled,
        default_project_id=body.default_project_id, description=body.description,
        email=body.email, password_hash=password_hash, password_expires_at=expires_at,
        extra=extra, options=body.options,
    )  # fmt: skip
    await record(
        request, f"user-{user_id}", [created], NO_STREAM, conflict=_duplicate(body.name, domain_id)
    )
    user = await must_get(request, User, user_id)
    return json_response({"user": views.user(user, base_url(request))}, status=201)


@routes.get("/v3/users")
async def list_users(request: web.Request) -> web.Response:
    ctx = caller(request)
    enforce(ctx, "identity:list_users", {"domain_id": request.query.get("domain_id")})
    where, args = filters(request, "name", "domain_id", "enabled")
    if not ctx.is_admin and ctx.scope == "domain":
        args.append(ctx.domain_id)
        where += f" AND domain_id = ${len(args)}"
    users = await select(store(request).pool, User, where, *args)
    items = [views.user(u, base_url(request)) for u in users]
    return json_response(views.collection(base_url(request), "users", "users", items))


@routes.get("/v3/users/{user_id}")
async def show_user(request: web.Request) -> web.Response:
    user = await _user_in_path(request, "identity:get_user")
    return json_response({"user": views.user(user, base_url(request))})


@routes.patch("/v3/users/{user_id}")
async def update_user(request: web.Request) -> web.Response:
    user = await _user_in_path(request, "identity:update_user")
    changes, extra = _split((await read_json(request, Wrapped)).user, UserChanges)
    if changes.domain_id not in (UNSET, user.domain_id):
        raise BadRequest("Update of `domain_id` is not allowed.")
    if isinstance(changes.default_project_id, str):
        await must_get(request, Project, changes.default_project_id)
    events: list[Event] = [
        ev.UserUpdated(
            user_id=user.id, name=changes.name, enabled=changes.enabled,
            default_project_id=changes.default_project_id, description=changes.description,
            email=changes.email, options=changes.options,
            extra={**user.extra, **extra} if extra else UNSET,
        )
    ]  # fmt: skip
    if isinstance(changes.password, str):
        events.append(await identity(request).password_changed(user, changes.password, False))
    name = user.name if changes.name is UNSET else changes.name
    await record(request, f"user-{user.id}", events, conflict=_duplicate(name, user.domain_id))
    user = await must_get(request, User, user.id)
    return json_response({"user": views.user(user, base_url(request))})


@routes.delete("/v3/users/{user_id}")
async def delete_user(request: web.Request) -> web.Response:
    user = await _user_in_path(request, "identity:delete_user")
    await record(request, f"user-{user.id}", [ev.UserDeleted(user_id=user.id)])
    return web.Response(status=204)


@routes.post("/v3/users/{user_id}/password")
async def change_own_password(request: web.Request) -> web.Response:
    """Self-service: authenticated by the original password, not by a token."""
    body = (await read_json(request, ChangePassword)).user
    user = await must_get(request, User, request.match_info["user_id"])
    await identity(request).verify_password(event_metadata(request), user, body.original_password)
    event = await identity(request).password_changed(user, body.password, True)
    await record(request, f"user-{user.id}", [event])
    return web.Response(status=204)


@routes.get("/v3/users/{user_id}/groups")
async def list_user_groups(request: web.Request) -> web.Response:
    user = await _user_in_path(request, "identity:list_groups_for_user")
    groups = await select(
        store(request).pool, Group,
        "id IN (SELECT group_id FROM rm_group_members WHERE user_id = $1)", user.id,
    )  # fmt: skip
    items = [views.group(g, base_url(request)) for g in groups]
    path = f"users/{user.id}/groups"
    return json_response(views.collection(base_url(request), path, "groups", items))
