"""/v3/OS-TRUST/trusts: a user (the trustor) delegates some of the roles it holds on a
project to another user (the trustee), who may then get tokens scoped to the trust
(tokens.py): on that project, with those roles, as itself or, with impersonation, as the
trustor; until the trust is deleted, expires or has been used `remaining_uses` times.
The trustor and the trustee see a trust, and admins; the trustor or an admin deletes it,
and the tokens scoped to it stop working."""

from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from aiohttp import web
from msgspec import Meta

from events.store import NO_STREAM
from service.auth import caller
from service.errors import BadRequest, Forbidden, NotFound
from service.http.body import json_response, read_json
from service.identity import events as ev
from service.identity import views
from service.identity.api.common import base_url, identity, must_get, new_id, record, store
from service.identity.directory import (
    Project,
    Role,
    Trust,
    User,
    effective_roles,
    get,
    select,
    trust_roles,
)
from service.policy import enforce

routes = web.RouteTableDef()
TRUSTS = "/v3/OS-TRUST/trusts"


class RoleName(msgspec.Struct):
    id: str | None = None
    name: str | None = None


class NewTrust(msgspec.Struct):
    trustor_user_id: str
    trustee_user_id: str
    impersonation: bool
    project_id: str
    roles: list[RoleName] = []
    expires_at: datetime | None = None
    remaining_uses: Annotated[int, Meta(ge=1)] | None = None
    allow_redelegation: bool = False


class CreateTrust(msgspec.Struct):
    trust: NewTrust


def _view(request: web.Request, trust: Trust, roles: list[Role]) -> dict[str, Any]:
    base = base_url(request)
    path = f"OS-TRUST/trusts/{trust.id}"
    return {
        "id": trust.id,
        "trustor_user_id": trust.trustor_user_id,
        "trustee_user_id": trust.trustee_user_id,
        "project_id": trust.project_id,
        "impersonation": trust.impersonation,
        "expires_at": views.timestamp(trust.expires_at),
        "remaining_uses": trust.remaining_uses,
        "allow_redelegation": False,
        "redelegation_count": 0,
        "roles": [views.role(r, base) for r in roles],
        "roles_links": {"self": views.v3(base, f"{path}/roles"), "previous": None, "next": None},
        "links": {"self": views.v3(base, path)},
    }


async def _named_roles(request: web.Request, trust: Trust) -> list[Role]:
    return await select(store(request).pool, Role, "id = ANY($1)", trust.role_ids)


def _party(trust: Trust) -> dict[str, Any]:
    """The policy target: the trust's trustor and trustee."""
    return {"trustor_user_id": trust.trustor_user_id, "trustee_user_id": trust.trustee_user_id}


async def _trust(request: web.Request, action: str) -> Trust:
    """The trust in the path once `action` is allowed (404 first, for one that is gone
    or expired, as Keystone answers)."""
    trust_id = request.match_info["trust_id"]
    trust = await get(store(request).pool, Trust, trust_id)
    if trust is None or _expired(request, trust):
        raise NotFound(f"Could not find trust: {trust_id}.")
    enforce(caller(request), action, _party(trust))
    return trust


def _expired(request: web.Request, trust: Trust) -> bool:
    return trust.expires_at is not None and trust.expires_at <= identity(request).clock.now()


@routes.post(TRUSTS)
async def create(request: web.Request) -> web.Response:
    ctx = caller(request)
    body = (await read_json(request, CreateTrust)).trust
    enforce(ctx, "identity:create_trust", {"trustor_user_id": body.trustor_user_id})
    if ctx.trust is not None or ctx.oauth is not None or ctx.application_credential_id:
        raise Forbidden("A trust is made with the trustor's own token, not a delegated one.")
    if body.allow_redelegation:
        raise Forbidden("Kumo's trusts cannot be redelegated.")
    await must_get(request, User, body.trustee_user_id)
    await must_get(request, Project, body.project_id)
    expires_at = body.expires_at
    if expires_at is not None:
        expires_at = expires_at if expires_at.tzinfo else expires_at.replace(tzinfo=UTC)
        if expires_at <= identity(request).clock.now():
            raise BadRequest("The expiration time of a trust must be in the future.")
    held = await effective_roles(
        store(request).pool, body.trustor_user_id, "project", body.project_id
    )
    by_id, by_name = {r.id: r for r in held}, {r.name: r for r in held}
    roles = []
    for ref in body.roles:
        role = by_id.get(ref.id or "") or by_name.get(ref.name or "")
        if role is None:
            named = ref.id or ref.name
            raise Forbidden(f"The trustor does not hold the role {named} on the project.")
        roles.append(role)
    trust_id = new_id(request)
    created = ev.TrustCreated(
        trust_id=trust_id,
        trustor_user_id=body.trustor_user_id,
        trustee_user_id=body.trustee_user_id,
        project_id=body.project_id,
        role_ids=tuple(dict.fromkeys(r.id for r in roles)),
        impersonation=body.impersonation,
        expires_at=expires_at,
        remaining_uses=body.remaining_uses,
    )
    await record(request, f"trust-{trust_id}", [created], NO_STREAM)
    trust = await must_get(request, Trust, trust_id)
    body_out = _view(request, trust, await _named_roles(request, trust))
    return json_response({"trust": body_out}, status=201)


@routes.get(TRUSTS)
@routes.get(TRUSTS + "/")  # as Tempest's client asks
async def list_trusts(request: web.Request) -> web.Response:
    """The trusts of a trustor or a trustee (the caller itself, unless an admin); all of
    them for an admin who names neither."""
    ctx = caller(request)
    wanted = {
        k: request.query[k] for k in ("trustor_user_id", "trustee_user_id") if k in request.query
    }
    enforce(ctx, "identity:list_trusts", wanted)
    clauses, args = [], []
    for column, value in wanted.items():
        args.append(value)
        clauses.append(f"{column} = ${len(args)}")
    found = await select(store(request).pool, Trust, " AND ".join(clauses) or "true", *args)
    items = [_view(request, t, []) for t in found if not _expired(request, t)]
    for item in items:
        del item["roles"], item["roles_links"]
    return json_response(views.collection(base_url(request), "OS-TRUST/trusts", "trusts", items))


@routes.get(TRUSTS + "/{trust_id}")
async def show(request: web.Request) -> web.Response:
    trust = await _trust(request, "identity:get_trust")
    return json_response({"trust": _view(request, trust, await _named_roles(request, trust))})


@routes.delete(TRUSTS + "/{trust_id}")
async def delete(request: web.Request) -> web.Response:
    trust = await _trust(request, "identity:delete_trust")
    await record(request, f"trust-{trust.id}", [ev.TrustDeleted(trust_id=trust.id)])
    return web.Response(status=204)


@routes.get(TRUSTS + "/{trust_id}/roles")
async def list_roles(request: web.Request) -> web.Response:
    trust = await _trust(request, "identity:list_roles_for_trust")
    items = [views.role(r, base_url(request)) for r in await _named_roles(request, trust)]
    path = f"OS-TRUST/trusts/{trust.id}/roles"
    return json_response(views.collection(base_url(request), path, "roles", items))


@routes.get(TRUSTS + "/{trust_id}/roles/{role_id}")
async def show_role(request: web.Request) -> web.Response:
    trust = await _trust(request, "identity:get_role_for_trust")
    role_id = request.match_info["role_id"]
    if role_id not in trust.role_ids:
        raise NotFound(f"Could not find role {role_id} in trust {trust.id}.")
    role = await must_get(request, Role, role_id)
    return json_response({"role": views.role(role, base_url(request))})


async def use_trust(request: web.Request, trust_id: str, user: User) -> Trust:
    """The trust `user` asks a token for, its use counted: 404 unless it exists and has
    not expired, 403 unless `user` is its trustee, it has uses left and its trustor still
    holds some of its roles."""
    trust = await get(store(request).pool, Trust, trust_id)
    if trust is None or _expired(request, trust):
        raise NotFound(f"Could not find trust: {trust_id}.")
    if trust.trustee_user_id != user.id:
        raise Forbidden(f"Trust {trust_id} was not given to user {user.id}.")
    if not await trust_roles(store(request).pool, trust):
        raise Forbidden(f"The trustor of trust {trust_id} no longer holds its roles.")
    if trust.remaining_uses is not None:
        if trust.remaining_uses <= 0:
            raise Forbidden(f"Trust {trust_id} has no uses left.")
        version = await store(request).stream_version(f"trust-{trust_id}")
        await record(request, f"trust-{trust_id}", [ev.TrustUsed(trust_id=trust_id)], version)
    return trust
