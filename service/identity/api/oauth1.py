"""/v3/OS-OAUTH1: delegation to consumers by OAuth 1.0a, as Keystone offers it.

An admin registers a consumer (an application) and gives it its id and secret. The
consumer asks for a request token for a project (`request_token`, signed with its
secret); a user holding roles there authorizes it, delegating some of them (`authorize`,
with the user's own token), and gets a verifier to hand to the consumer; the consumer
exchanges token and verifier for an access token (`access_token`). With the access
token it gets Keystone tokens of that user on that project, carrying only the delegated
roles (`POST /v3/auth/tokens`, method `oauth1`, tokens.py), until the user deletes the
access token, the consumer is deleted, or the access token expires. Secrets are sealed
with the credential keys before they reach the log.
"""

import secrets
import string
from datetime import datetime, timedelta
from typing import Any

import msgspec
from aiohttp import web
from msgspec import UNSET, UnsetType

from events.store import NO_STREAM, StreamAppend
from service.auth import AuthContext, caller
from service.errors import BadRequest, Forbidden, NotFound, Unauthorized
from service.http.body import json_response, read_json
from service.identity import events as ev
from service.identity import oauth1, views
from service.identity.api.common import (
    base_url,
    identity,
    must_get,
    new_id,
    record,
    record_streams,
    seal,
    store,
    unseal,
)
from service.identity.directory import (
    AccessToken,
    Consumer,
    Project,
    RequestToken,
    Role,
    effective_roles,
    get,
    select,
)
from service.policy import enforce

routes = web.RouteTableDef()
BASE = "/v3/OS-OAUTH1"
CONSUMERS = f"{BASE}/consumers"
USER_TOKENS = "/v3/users/{user_id}/OS-OAUTH1/access_tokens"
REQUEST_TOKEN_LIFETIME = timedelta(hours=8)
ACCESS_TOKEN_LIFETIME = timedelta(hours=24)
"""Keystone's defaults ([oauth1] request_token_duration, access_token_duration)."""
_VERIFIER_ALPHABET = string.ascii_letters + string.digits


class ConsumerFields(msgspec.Struct):
    description: str | None | UnsetType = UNSET
    secret: str | UnsetType = UNSET
    id: str | UnsetType = UNSET


class ConsumerBody(msgspec.Struct):
    consumer: ConsumerFields


class RoleRef(msgspec.Struct):
    id: str | None = None
    name: str | None = None


class Authorization(msgspec.Struct):
    roles: list[RoleRef]


def _consumer_view(request: web.Request, consumer: Consumer) -> dict[str, Any]:
    link = views.v3(base_url(request), f"OS-OAUTH1/consumers/{consumer.id}")
    return {"id": consumer.id, "description": consumer.description, "links": {"self": link}}


def _access_view(request: web.Request, access: AccessToken) -> dict[str, Any]:
    path = f"users/{access.authorizing_user_id}/OS-OAUTH1/access_tokens/{access.id}"
    return {
        "id": access.id,
        "consumer_id": access.consumer_id,
        "project_id": access.project_id,
        "authorizing_user_id": access.authorizing_user_id,
        "expires_at": views.timestamp(access.expires_at),
        "links": {"self": views.v3(base_url(request), path)},
    }


def _not_delegated(ctx: AuthContext, doing: str) -> None:
    """403 for a token that is itself delegated: only a user's own token may do this."""
    if ctx.oauth is not None or ctx.trust is not None:
        raise Forbidden(f"Cannot {doing} with a token issued via delegation.")


@routes.post(CONSUMERS)
async def create_consumer(request: web.Request) -> web.Response:
    enforce(caller(request), "identity:create_consumer", {})
    fields = (await read_json(request, ConsumerBody)).consumer
    if not isinstance(fields.secret, UnsetType) or not isinstance(fields.id, UnsetType):
        raise BadRequest("A consumer's id and secret are made by Keystone, not given.")
    consumer_id, secret = new_id(request), secrets.token_hex(16)
    description = None if isinstance(fields.description, UnsetType) else fields.description
    made = ev.ConsumerCreated(consumer_id, description, seal(request, secret))
    await record(request, f"consumer-{consumer_id}", [made], NO_STREAM)
    shown = _consumer_view(request, Consumer(consumer_id, description, made.encrypted_secret))
    return json_response({"consumer": {**shown, "secret": secret}}, status=201)


@routes.get(CONSUMERS)
async def list_consumers(request: web.Request) -> web.Response:
    enforce(caller(request), "identity:list_consumers", {})
    found = await select(store(request).pool, Consumer, "TRUE")
    items = [_consumer_view(request, c) for c in found]
    listed = views.collection(base_url(request), "OS-OAUTH1/consumers", "consumers", items)
    return json_response(listed)


@routes.get(CONSUMERS + "/{consumer_id}")
async def show_consumer(request: web.Request) -> web.Response:
    enforce(caller(request), "identity:get_consumer", {})
    consumer = await must_get(request, Consumer, request.match_info["consumer_id"])
    return json_response({"consumer": _consumer_view(request, consumer)})


@routes.patch(CONSUMERS + "/{consumer_id}")
async def update_consumer(request: web.Request) -> web.Response:
    enforce(caller(request), "identity:update_consumer", {})
    consumer = await must_get(request, Consumer, request.match_info["consumer_id"])
    fields = (await read_json(request, ConsumerBody)).consumer
    if not isinstance(fields.secret, UnsetType):
        raise BadRequest("A consumer's secret cannot be changed.")
    if not isinstance(fields.id, UnsetType) and fields.id != consumer.id:
        raise BadRequest("A consumer's id cannot be changed.")
    if not isinstance(fields.description, UnsetType):
        changed = ev.ConsumerUpdated(consumer.id, fields.description)
        await record(request, f"consumer-{consumer.id}", [changed])
        consumer = msgspec.structs.replace(consumer, description=fields.description)
    return json_response({"consumer": _consumer_view(request, consumer)})


@routes.delete(CONSUMERS + "/{consumer_id}")
async def delete_consumer(request: web.Request) -> web.Response:
    """204; its request and access tokens go with it, and every token made with them."""
    enforce(caller(request), "identity:delete_consumer", {})
    consumer = await must_get(request, Consumer, request.match_info["consumer_id"])
    pool = store(request).pool
    pending = await select(pool, RequestToken, "consumer_id = $1", consumer.id)
    granted = await select(pool, AccessToken, "consumer_id = $1", consumer.id)
    appends = [StreamAppend(f"consumer-{consumer.id}", [ev.ConsumerDeleted(consumer.id)])]
    appends += [
        StreamAppend(f"request_token-{t.id}", [ev.RequestTokenDeleted(t.id)]) for t in pending
    ]
    appends += [
        StreamAppend(f"access_token-{t.id}", [ev.AccessTokenDeleted(t.id)]) for t in granted
    ]
    await record_streams(request, appends)
    return web.Response(status=204)


async def _form(request: web.Request) -> str:
    """A form body, whose parameters the signature covers (RFC 5849 §3.4.1.3); "" for
    any other body."""
    if request.content_type != "application/x-www-form-urlencoded":
        return ""
    return await request.text()


def _signed(request: web.Request, form: str) -> oauth1.SignedRequest:
    return oauth1.parse(request.headers.get("Authorization"), request.query.items(), form)


async def _verify(
    request: web.Request, signed: oauth1.SignedRequest, token_secret: str
) -> Consumer:
    """The consumer that signed the request with its secret and `token_secret`; 401 for
    an unknown consumer or a signature of any other URL or secrets. The URL may be the
    public one (KUMO_PUBLIC_URL and the path) or the one this server was called at."""
    consumer = await get(store(request).pool, Consumer, signed.require("oauth_consumer_key"))
    if consumer is None:
        raise Unauthorized("The OAuth consumer is not known.")
    keys = (unseal(request, consumer.encrypted_secret, f"consumer {consumer.id}"), token_secret)
    now = identity(request).clock.now()
    public = base_url(request) + request.path
    try:
        oauth1.verify(signed, request.method, public, keys, now)
    except Unauthorized:
        oauth1.verify(signed, request.method, str(request.url), keys, now)
    return consumer


def _form_response(token_id: str, secret: str, expires_at: datetime) -> web.Response:
    body = {
        "oauth_token": token_id,
        "oauth_token_secret": secret,
        "oauth_expires_at": views.timestamp(expires_at) or "",
    }
    return web.Response(
        status=201, text=oauth1.form(body), content_type="application/x-www-form-urlencoded"
    )


@routes.post(f"{BASE}/request_token")
async def create_request_token(request: web.Request) -> web.Response:
    """A consumer's request for roles on the project its `Requested-Project-Id` names."""
    signed = _signed(request, await _form(request))
    consumer = await _verify(request, signed, "")
    project_id = request.headers.get("Requested-Project-Id")
    if not project_id:
        raise BadRequest("A request token needs the Requested-Project-Id header.")
    await must_get(request, Project, project_id)
    token_id, secret = new_id(request), secrets.token_hex(16)
    expires_at = identity(request).clock.now() + REQUEST_TOKEN_LIFETIME
    made = ev.RequestTokenCreated(
        token_id, consumer.id, project_id, seal(request, secret), expires_at
    )
    await record(request, f"request_token-{token_id}", [made], NO_STREAM)
    return _form_response(token_id, secret, expires_at)


@routes.put(BASE + "/authorize/{request_token_id}")
async def authorize_request_token(request: web.Request) -> web.Response:
    """The caller delegates roles it holds on the request's project; 200 with the
    verifier the consumer needs for its access token."""
    ctx = caller(request)
    _not_delegated(ctx, "authorize a request token")
    body = await read_json(request, Authorization)
    token_id = request.match_info["request_token_id"]
    pending = await must_get(request, RequestToken, token_id)
    if pending.expires_at <= identity(request).clock.now():
        raise Unauthorized("The request token has expired.")
    if pending.authorizing_user_id is not None:
        raise Forbidden("The request token has been authorized already.")
    if not body.roles:
        raise BadRequest("Authorizing a request token delegates at least one role.")
    held = await effective_roles(store(request).pool, ctx.user_id, "project", pending.project_id)
    role_ids = tuple(dict.fromkeys(_held_role(held, ref).id for ref in body.roles))
    verifier = "".join(secrets.choice(_VERIFIER_ALPHABET) for _ in range(8))
    authorized = ev.RequestTokenAuthorized(token_id, ctx.user_id, role_ids, verifier)
    await record(request, f"request_token-{token_id}", [authorized])
    return json_response({"token": {"oauth_verifier": verifier}})


def _held_role(held: list[Role], ref: RoleRef) -> Role:
    """The role `ref` names among those the user holds; 401 for any other, as Keystone."""
    for role in held:
        if (ref.id is not None and role.id == ref.id) or (ref.id is None and role.name == ref.name):
            return role
    raise Unauthorized(f"The user does not hold role {ref.id or ref.name} on the project.")


@routes.post(f"{BASE}/access_token")
async def create_access_token(request: web.Request) -> web.Response:
    """The consumer exchanges an authorized request token and its verifier."""
    signed = _signed(request, await _form(request))
    token_id = signed.require("oauth_token")
    pending = await get(store(request).pool, RequestToken, token_id)
    if pending is None:
        raise Unauthorized("The request token is not known.")
    secret = unseal(request, pending.encrypted_secret, f"request token {pending.id}")
    consumer = await _verify(request, signed, secret)
    now = identity(request).clock.now()
    if consumer.id != pending.consumer_id:
        raise Unauthorized("The request token belongs to another consumer.")
    if pending.expires_at <= now:
        raise Unauthorized("The request token has expired.")
    if pending.authorizing_user_id is None or pending.verifier is None:
        raise Unauthorized("The request token has not been authorized.")
    if signed.get("oauth_verifier") != pending.verifier:
        raise Unauthorized("The verifier does not match the request token's.")
    access_id, access_secret = new_id(request), secrets.token_hex(16)
    expires_at = now + ACCESS_TOKEN_LIFETIME
    granted = ev.AccessTokenCreated(
        access_token_id=access_id,
        consumer_id=consumer.id,
        authorizing_user_id=pending.authorizing_user_id,
        project_id=pending.project_id,
        role_ids=tuple(pending.role_ids or ()),
        encrypted_secret=seal(request, access_secret),
        expires_at=expires_at,
    )
    await record_streams(
        request,
        [
            StreamAppend(f"access_token-{access_id}", [granted], NO_STREAM),
            StreamAppend(f"request_token-{token_id}", [ev.RequestTokenDeleted(token_id)]),
        ],
    )
    return _form_response(access_id, access_secret, expires_at)


async def delegated(request: web.Request) -> AccessToken:
    """The access token an `oauth1` authentication presents, once its consumer's
    signature is checked; 401 for one unknown, expired or of another consumer."""
    signed = _signed(request, "")
    access = await get(store(request).pool, AccessToken, signed.require("oauth_token"))
    if access is None or access.expires_at <= identity(request).clock.now():
        raise Unauthorized("The OAuth access token is not known or has expired.")
    secret = unseal(request, access.encrypted_secret, f"access token {access.id}")
    consumer = await _verify(request, signed, secret)
    if consumer.id != access.consumer_id:
        raise Unauthorized("The access token belongs to another consumer.")
    return access


def _users_tokens_allowed(request: web.Request, action: str) -> str:
    """The path's user, once `action` on their access tokens is allowed to the caller
    (never with a delegated token)."""
    ctx, user_id = caller(request), request.match_info["user_id"]
    enforce(ctx, action, {"user_id": user_id})
    _not_delegated(ctx, "manage access tokens")
    return user_id


async def _users_access_token(request: web.Request, action: str) -> AccessToken:
    """The path's access token of the path's user, once `action` is allowed."""
    user_id = _users_tokens_allowed(request, action)
    access = await get(store(request).pool, AccessToken, request.match_info["access_token_id"])
    if access is None or access.authorizing_user_id != user_id:
        raise NotFound(f"Could not find access token: {request.match_info['access_token_id']}.")
    return access


@routes.get(USER_TOKENS)
async def list_access_tokens(request: web.Request) -> web.Response:
    user_id = _users_tokens_allowed(request, "identity:list_access_tokens")
    found = await select(store(request).pool, AccessToken, "authorizing_user_id = $1", user_id)
    items = [_access_view(request, a) for a in found]
    path = f"users/{user_id}/OS-OAUTH1/access_tokens"
    return json_response(views.collection(base_url(request), path, "access_tokens", items))


@routes.get(USER_TOKENS + "/{access_token_id}")
async def show_access_token(request: web.Request) -> web.Response:
    access = await _users_access_token(request, "identity:get_access_token")
    return json_response({"access_token": _access_view(request, access)})


@routes.delete(USER_TOKENS + "/{access_token_id}")
async def delete_access_token(request: web.Request) -> web.Response:
    """204; the tokens made with it stop working."""
    access = await _users_access_token(request, "identity:delete_access_token")
    await record(request, f"access_token-{access.id}", [ev.AccessTokenDeleted(access.id)])
    return web.Response(status=204)


@routes.get(USER_TOKENS + "/{access_token_id}/roles")
async def list_access_token_roles(request: web.Request) -> web.Response:
    access = await _users_access_token(request, "identity:list_access_token_roles")
    roles = await select(store(request).pool, Role, "id = ANY($1)", access.role_ids)
    base = base_url(request)
    path = f"users/{access.authorizing_user_id}/OS-OAUTH1/access_tokens/{access.id}/roles"
    items = [views.role(r, base) for r in roles]
    return json_response(views.collection(base, path, "roles", items))


@routes.get(USER_TOKENS + "/{access_token_id}/roles/{role_id}")
async def show_access_token_role(request: web.Request) -> web.Response:
    access = await _users_access_token(request, "identity:get_access_token_role")
    role_id = request.match_info["role_id"]
    role = await get(store(request).pool, Role, role_id) if role_id in access.role_ids else None
    if role is None:
        raise NotFound(f"Could not find role: {role_id}.")
    return json_response({"role": views.role(role, base_url(request))})
