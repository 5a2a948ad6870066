"""/v3/users/{user_id}/application_credentials: what automation authenticates with."""

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import msgspec
from aiohttp import web
from msgspec import Meta

from events.store import NO_STREAM
from service.auth import caller
from service.errors import BadRequest, Forbidden, NotFound
from service.http.body import json_response, read_json
from service.identity import events as ev
from service.identity import views
from service.identity.access_rules import AccessRule
from service.identity.api.common import (
    authorized,
    base_url,
    identity,
    must_get,
    new_id,
    record,
    store,
)
from service.identity.directory import ApplicationCredential, Role, User, UserAccessRule, select
from service.identity.passwords import generate_secret, hash_password
from service.policy import enforce

routes = web.RouteTableDef()
Name = Annotated[str, Meta(min_length=1, max_length=255, pattern=r"\S")]
COLLECTION = "application_credentials"


class RoleRef(msgspec.Struct):
    id: str | None = None
    name: str | None = None


class AccessRuleRef(msgspec.Struct):
    """An access rule as a credential asks for it: one of the user's by id, or a request."""

    id: str | None = None
    service: Annotated[str, Meta(min_length=1, max_length=255)] | None = None
    method: Literal["HEAD", "GET", "POST", "PUT", "PATCH", "DELETE"] | None = None
    path: Annotated[str, Meta(pattern="^/", max_length=255)] | None = None


class NewCredential(msgspec.Struct):
    name: Name
    description: str | None = None
    secret: str | None = None
    expires_at: datetime | None = None
    roles: list[RoleRef] | None = None
    unrestricted: bool = False
    access_rules: list[AccessRuleRef] = []


class CreateCredential(msgspec.Struct):
    application_credential: NewCredential


async def _view(request: web.Request, credential: ApplicationCredential) -> dict[str, Any]:
    roles = await select(store(request).pool, Role, "id = ANY($1)", credential.role_ids)
    return views.application_credential(credential, roles, base_url(request))


@routes.post("/v3/users/{user_id}/application_credentials")
async def create_credential(request: web.Request) -> web.Response:
    ctx = caller(request)
    user_id = request.match_info["user_id"]
    enforce(ctx, "identity:create_application_credential", {"user_id": user_id})
    await must_get(request, User, user_id)
    if ctx.project_id is None:
        raise Forbidden("Application credentials are created with a project-scoped token.")
    if ctx.application_credential_id is not None:
        raise Forbidden("An application credential cannot create another one.")
    body = (await read_json(request, CreateCredential)).application_credential
    rules = await _access_rules(request, user_id, body.access_rules)
    held = {r.id: r for r in ctx.roles}
    by_name = {r.name: r for r in ctx.roles}
    wanted = body.roles if body.roles is not None else [RoleRef(id=r.id) for r in ctx.roles]
    role_ids = []
    for ref in wanted:
        role = held.get(ref.id or "") or by_name.get(ref.name or "")
        if role is None:
            raise Forbidden(f"The role {ref.id or ref.name} is not held on the token's project.")
        role_ids.append(role.id)
    expires_at = body.expires_at
    if expires_at is not None and expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=UTC)  # Keystone reads naive times as UTC
    if expires_at is not None and expires_at <= identity(request).clock.now():
        raise BadRequest("The expiration time of an application credential must be in the future.")
    secret = body.secret or generate_secret()
    credential_id = new_id(request)
    created = ev.ApplicationCredentialCreated(
        application_credential_id=credential_id,
        user_id=user_id,
        project_id=ctx.project_id,
        name=body.name,
        secret_hash=await hash_password(secret, identity(request).settings.password_hash_rounds),
        role_ids=tuple(dict.fromkeys(role_ids)),
        description=body.description,
        expires_at=expires_at,
        unrestricted=body.unrestricted,
        access_rules=rules,
    )
    await record(
        request,
        f"appcred-{credential_id}",
        [created],
        NO_STREAM,
        conflict=f"Conflict occurred attempting to store application credential - "
        f"Duplicate entry found with name {body.name}.",
    )
    credential = await must_get(request, ApplicationCredential, credential_id)
    body_out = {**await _view(request, credential), "secret": secret}
    return json_response({"application_credential": body_out}, status=201)


async def _access_rules(
    request: web.Request, user_id: str, refs: list[AccessRuleRef]
) -> tuple[AccessRule, ...]:
    """The rules `refs` ask for: the user's own rule where one is named by id (404 if the
    user has none such) or asks for the same request, else a new one."""
    known = await select(store(request).pool, UserAccessRule, "user_id = $1", user_id)
    by_id = {r.id: r for r in known}
    by_request = {(r.service, r.method, r.path): r.id for r in known}
    rules: list[AccessRule] = []
    for ref in refs:
        if ref.id is not None:
            found = by_id.get(ref.id)
            if found is None:
                raise NotFound(f"Could not find access rule: {ref.id}.")
            rules.append(AccessRule(found.id, found.service, found.method, found.path))
        elif ref.service is None or ref.method is None or ref.path is None:
            raise BadRequest("An access rule names its id, or a service, a method and a path.")
        else:
            rule_id = by_request.get((ref.service, ref.method, ref.path)) or new_id(request)
            rules.append(AccessRule(rule_id, ref.service, ref.method, ref.path))
    return tuple(dict.fromkeys(rules))


@routes.get("/v3/users/{user_id}/application_credentials")
async def list_credentials(request: web.Request) -> web.Response:
    user_id = request.match_info["user_id"]
    enforce(caller(request), "identity:list_application_credentials", {"user_id": user_id})
    await must_get(request, User, user_id)
    where, args = "user_id = $1", [user_id]
    if "name" in request.query:
        where += " AND name = $2"
        args.append(request.query["name"])
    credentials = await select(store(request).pool, ApplicationCredential, where, *args)
    items = [await _view(request, c) for c in credentials]
    path = f"users/{user_id}/{COLLECTION}"
    return json_response(views.collection(base_url(request), path, COLLECTION, items))


async def _credential(request: web.Request, action: str) -> ApplicationCredential:
    """The credential in the path once `action` is allowed; 404 unless it belongs to the
    user in the path."""
    user_id = request.match_info["user_id"]
    credential_id = request.match_info["credential_id"]
    credential = await authorized(
        request, ApplicationCredential, credential_id, action, lambda found: {"user_id": user_id}
    )
    if credential.user_id != user_id:
        raise NotFound(f"Could not find application credential: {credential_id}.")
    return credential


@routes.get("/v3/users/{user_id}/application_credentials/{credential_id}")
async def show_credential(request: web.Request) -> web.Response:
    credential = await _credential(request, "identity:get_application_credential")
    return json_response({"application_credential": await _view(request, credential)})


@routes.delete("/v3/users/{user_id}/application_credentials/{credential_id}")
async def delete_credential(request: web.Request) -> web.Response:
    credential = await _credential(request, "identity:delete_application_credential")
    if caller(request).application_credential_id == credential.id:
        raise Forbidden("An application credential cannot delete itself.")
    deleted = ev.ApplicationCredentialDeleted(
        application_credential_id=credential.id, user_id=credential.user_id
    )
    await record(request, f"appcred-{credential.id}", [deleted])
    return web.Response(status=204)
