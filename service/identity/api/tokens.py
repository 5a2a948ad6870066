"""/v3/auth/tokens (issue, validate, check, revoke) and the other /v3/auth/ resources."""

from datetime import datetime
from typing import Any, Literal

import msgspec
from aiohttp import web

from service.audit.claim import CLAIMED, initiator_of
from service.audit.events import Initiator
from service.auth import AuthContext, caller
from service.errors import BadRequest, Forbidden, NotFound, Unauthorized
from service.http.body import json_response, read_json
from service.http.request_id import event_metadata
from service.identity import events as ev
from service.identity import views
from service.identity.api import oauth1
from service.identity.api.common import base_url, identity, record, store
from service.identity.api.projects import projects_of_user
from service.identity.api.trusts import use_trust
from service.identity.directory import (
    ApplicationCredential,
    Domain,
    Project,
    User,
    by_name,
    effective_roles,
    get,
    select,
)
from service.identity.passwords import verify_password
from service.identity.token_format import ScopeKind, TokenPayload

routes = web.RouteTableDef()
SUBJECT = "X-Subject-Token"


class DomainRef(msgspec.Struct):
    id: str | None = None
    name: str | None = None


class UserRef(msgspec.Struct):
    id: str | None = None
    name: str | None = None
    domain: DomainRef | None = None
    password: str | None = None


class PasswordMethod(msgspec.Struct):
    user: UserRef


class TokenMethod(msgspec.Struct):
    id: str


class AppCredMethod(msgspec.Struct):
    secret: str
    id: str | None = None
    name: str | None = None
    user: UserRef | None = None


class Identity(msgspec.Struct):
    methods: list[str]
    password: PasswordMethod | None = None
    token: TokenMethod | None = None
    application_credential: AppCredMethod | None = None
    oauth1: dict[str, Any] | None = None
    """Empty: the signed Authorization header carries the OAuth1 credentials."""


class ProjectRef(msgspec.Struct):
    id: str | None = None
    name: str | None = None
    domain: DomainRef | None = None


class SystemRef(msgspec.Struct):
    all: bool = False


class TrustRef(msgspec.Struct):
    id: str


class Scope(msgspec.Struct):
    project: ProjectRef | None = None
    domain: DomainRef | None = None
    system: SystemRef | None = None
    trust: TrustRef | None = msgspec.field(default=None, name="OS-TRUST:trust")


class Auth(msgspec.Struct):
    identity: Identity
    scope: Scope | Literal["unscoped"] | None = None


class AuthRequest(msgspec.Struct):
    auth: Auth


async def _find_domain(request: web.Request, ref: DomainRef) -> Domain:
    pool = store(request).pool
    domain = await get(pool, Domain, ref.id) if ref.id else None
    if domain is None and ref.name and not ref.id:
        domain = await by_name(pool, Domain, ref.name, None)
    if domain is None:
        raise Unauthorized(f"Could not find domain: {ref.id or ref.name}.")
    return domain


async def _find_user(request: web.Request, ref: UserRef) -> User:
    """The user `ref` names (noted as the claimed user for the audit log), or 401."""
    request[CLAIMED] = Initiator(user_id=ref.id, user_name=ref.name)
    pool = store(request).pool
    if ref.id:
        user = await get(pool, User, ref.id)
    elif ref.name and ref.domain:
        domain = await _find_domain(request, ref.domain)
        user = await by_name(pool, User, ref.name, domain.id)
    else:
        raise BadRequest("A user is named by id, or by name and domain.")
    if user is None:
        raise Unauthorized("The request you have made requires authentication.")
    request[CLAIMED] = Initiator(user_id=user.id, user_name=user.name, domain_id=user.domain_id)
    return user


async def _scope(
    request: web.Request, scope: Scope | str | None, user: User
) -> tuple[ScopeKind, str | None]:
    """The scope asked for; none means the user's default project if it can be used."""
    if isinstance(scope, Scope):
        if scope.project is not None:
            ref = scope.project
            project = await get(store(request).pool, Project, ref.id) if ref.id else None
            if project is None and ref.name and ref.domain:
                domain = await _find_domain(request, ref.domain)
                project = await by_name(store(request).pool, Project, ref.name, domain.id)
            if project is None:
                raise Unauthorized(f"Could not find project: {ref.id or ref.name}.")
            return "project", project.id
        if scope.domain is not None:
            return "domain", (await _find_domain(request, scope.domain)).id
        if scope.system is not None and scope.system.all:
            return "system", "all"
    if scope is None and user.default_project_id:
        roles = await effective_roles(
            store(request).pool, user.id, "project", user.default_project_id
        )
        if roles:
            return "project", user.default_project_id
    return "unscoped", None


async def token_body(request: web.Request, ctx: AuthContext, *, catalog: bool) -> dict[str, Any]:
    """Keystone's token document for a validated token."""
    token: dict[str, Any] = {
        "methods": list(ctx.methods),
        "user": {
            "id": ctx.user_id, "name": ctx.user_name,
            "domain": {"id": ctx.user_domain_id, "name": ctx.user_domain_name},
            "password_expires_at": views.timestamp(ctx.password_expires_at),
        },
        "audit_ids": list(ctx.audit_ids),
        "issued_at": views.timestamp(ctx.issued_at),
        "expires_at": views.timestamp(ctx.expires_at),
    }  # fmt: skip
    if ctx.scope != "unscoped":
        token["roles"] = [{"id": r.id, "name": r.name} for r in ctx.roles]
    if ctx.scope == "project":
        token["project"] = {
            "id": ctx.project_id, "name": ctx.project_name,
            "domain": {"id": ctx.project_domain_id, "name": ctx.project_domain_name},
        }  # fmt: skip
        token["is_domain"] = False
    elif ctx.scope == "domain":
        token["domain"] = {"id": ctx.domain_id, "name": ctx.domain_name}
    elif ctx.scope == "system":
        token["system"] = {"all": True}
    if ctx.trust is not None:
        token["OS-TRUST:trust"] = {
            "id": ctx.trust.id,
            "impersonation": ctx.trust.impersonation,
            "trustor_user": {"id": ctx.trust.trustor_user_id},
            "trustee_user": {"id": ctx.trust.trustee_user_id},
        }
    if ctx.oauth is not None:
        token["OS-OAUTH1"] = {
            "access_token_id": ctx.oauth.access_token_id,
            "consumer_id": ctx.oauth.consumer_id,
        }
    if ctx.application_credential_id:
        token["application_credential"] = {
            "id": ctx.application_credential_id,
            "name": ctx.application_credential_name,
            "restricted": not ctx.application_credential_unrestricted,
        }
        if ctx.access_rules is not None:
            token["application_credential"]["access_rules"] = msgspec.to_builtins(ctx.access_rules)
    if catalog and ctx.scope != "unscoped":
        token["catalog"] = await identity(request).catalog(ctx.project_id)
    return {"token": token}


async def _authenticate(request: web.Request, auth: Auth) -> tuple[str, AuthContext]:
    """Check the credentials of one method; the token they earn and what it stands for."""
    methods = auth.identity.methods
    codec = identity(request).codec
    if methods == ["password"] and auth.identity.password is not None:
        ref = auth.identity.password.user
        user = await _find_user(request, ref)
        await identity(request).verify_password(event_metadata(request), user, ref.password or "")
        token, payload = await _issue(request, auth.scope, user, ["password"])
    elif methods == ["token"] and auth.identity.token is not None:
        try:
            original = await identity(request).validate(auth.identity.token.id)
        except Unauthorized:
            raise NotFound("Could not find token.") from None
        if original.application_credential_id:
            raise Forbidden("A token from an application credential cannot be rescoped.")
        if original.trust is not None or original.oauth is not None:
            raise Forbidden("A token issued via delegation cannot be rescoped.")
        user = await _find_user(request, UserRef(id=original.user_id))
        methods = list(dict.fromkeys([*original.methods, "token"]))  # Keystone's: both
        token, payload = await _issue(
            request, auth.scope, user, methods,
            expires_at=original.expires_at, audit_chain_id=original.audit_ids[-1],
        )  # fmt: skip
    elif methods == ["application_credential"] and auth.identity.application_credential:
        if auth.scope not in (None, "unscoped"):
            raise Unauthorized("Application credentials cannot request a scope.")
        credential = await _find_credential(request, auth.identity.application_credential)
        token, payload = codec.issue(
            credential.user_id, ["application_credential"], scope_kind="project",
            scope_id=credential.project_id, application_credential_id=credential.id,
            expires_at=credential.expires_at,
        )  # fmt: skip
    elif methods == ["oauth1"]:
        access = await oauth1.delegated(request)
        token, payload = codec.issue(
            access.authorizing_user_id, ["oauth1"], scope_kind="project",
            scope_id=access.project_id, access_token_id=access.id, expires_at=access.expires_at,
        )  # fmt: skip
    else:
        raise BadRequest(f"Unsupported or incomplete authentication methods: {methods}.")
    return token, await identity(request).context_for(payload)


async def _issue(
    request: web.Request,
    scope: Scope | str | None,
    user: User,
    methods: list[str],
    *,
    expires_at: datetime | None = None,
    audit_chain_id: str | None = None,
) -> tuple[str, TokenPayload]:
    """A token for `user`, authenticated by `methods`, scoped as asked; scoped to a
    trust, it acts on the trust's project as the trustee (as the trustor with
    impersonation), and uses the trust once."""
    codec = identity(request).codec
    if isinstance(scope, Scope) and scope.trust is not None:
        trust = await use_trust(request, scope.trust.id, user)
        acting = trust.trustor_user_id if trust.impersonation else user.id
        return codec.issue(
            acting,
            methods,
            scope_kind="project",
            scope_id=trust.project_id,
            trust_id=trust.id,
            expires_at=_earliest(expires_at, trust.expires_at),
            audit_chain_id=audit_chain_id,
        )
    kind, scope_id = await _scope(request, scope, user)
    return codec.issue(
        user.id,
        methods,
        scope_kind=kind,
        scope_id=scope_id,
        expires_at=expires_at,
        audit_chain_id=audit_chain_id,
    )


def _earliest(*times: datetime | None) -> datetime | None:
    known = [t for t in times if t is not None]
    return min(known) if known else None


async def _find_credential(request: web.Request, ref: AppCredMethod) -> ApplicationCredential:
    pool = store(request).pool
    credential = await get(pool, ApplicationCredential, ref.id) if ref.id else None
    if credential is None and ref.name and ref.user:
        user = await _find_user(request, ref.user)
        found = await select(
            pool, ApplicationCredential, "user_id = $1 AND name = $2", user.id, ref.name
        )
        credential = found[0] if found else None
    if credential is None or not await verify_password(ref.secret, credential.secret_hash):
        raise Unauthorized("The request you have made requires authentication.")
    if credential.expires_at is not None and credential.expires_at <= identity(request).clock.now():
        raise Unauthorized("The application credential has expired.")
    return credential


@routes.post("/v3/auth/tokens")
async def issue_token(request: web.Request) -> web.Response:
    auth = (await read_json(request, AuthRequest)).auth
    token, ctx = await _authenticate(request, auth)
    request[CLAIMED] = initiator_of(ctx)
    body = await token_body(request, ctx, catalog="nocatalog" not in request.query)
    return json_response(body, status=201, headers={SUBJECT: token})


async def _subject(request: web.Request) -> AuthContext:
    """The token named in X-Subject-Token, checked; the caller must be allowed to see it."""
    ctx = caller(request)
    subject = request.headers.get(SUBJECT)
    if not subject:
        raise BadRequest(f"The {SUBJECT} header is required.")
    try:
        subject_ctx = await identity(request).validate(subject, fresh=True)
    except Unauthorized:
        raise NotFound(f"Could not find token: {subject[:16]}...") from None
    if subject_ctx.user_id != ctx.user_id and not ctx.is_admin:
        raise Forbidden(
            "You are not authorized to perform the requested action: identity:validate_token."
        )
    return subject_ctx


@routes.get("/v3/auth/tokens")
async def validate_token(request: web.Request) -> web.Response:
    subject = await _subject(request)
    if request.method == "HEAD":
        return web.Response(status=200, headers={SUBJECT: request.headers[SUBJECT]})
    body = await token_body(request, subject, catalog="nocatalog" not in request.query)
    return json_response(body, headers={SUBJECT: request.headers[SUBJECT]})


@routes.delete("/v3/auth/tokens")
async def revoke_token(request: web.Request) -> web.Response:
    subject = await _subject(request)
    revoked = ev.TokenRevoked(audit_id=subject.audit_ids[0], expires_at=subject.expires_at)
    await record(request, f"token-{subject.audit_ids[0]}", [revoked])
    return web.Response(status=204)


@routes.get("/v3/auth/catalog")
async def auth_catalog(request: web.Request) -> web.Response:
    ctx = caller(request)
    if ctx.scope == "unscoped":
        raise Forbidden("The service catalog is only given to scoped tokens.")
    catalog = await identity(request).catalog(ctx.project_id)
    return json_response(
        {"catalog": catalog, "links": {"self": views.v3(base_url(request), "auth/catalog")}}
    )


@routes.get("/v3/auth/projects")
async def auth_projects(request: web.Request) -> web.Response:
    ctx = caller(request)
    items = [
        views.project(p, base_url(request)) for p in await projects_of_user(request, ctx.user_id)
    ]
    return json_response(views.collection(base_url(request), "auth/projects", "projects", items))


@routes.get("/v3/auth/domains")
async def auth_domains(request: web.Request) -> web.Response:
    ctx = caller(request)
    domains = await select(
        store(request).pool, Domain,
        "enabled AND id IN (SELECT a.target_id FROM rm_role_assignments a"
        " WHERE a.target_type = 'domain' AND ((a.actor_type = 'user' AND a.actor_id = $1)"
        " OR (a.actor_type = 'group' AND a.actor_id IN"
        " (SELECT group_id FROM rm_group_members WHERE user_id = $1))))",
        ctx.user_id,
    )  # fmt: skip
    items = [views.domain(d, base_url(request)) for d in domains]
    return json_response(views.collection(base_url(request), "auth/domains", "domains", items))


@routes.get("/v3/auth/system")
async def auth_system(request: web.Request) -> web.Response:
    ctx = caller(request)
    roles = await effective_roles(store(request).pool, ctx.user_id, "system", "all")
    system = [{"all": True}] if roles else []
    return json_response(
        {"system": system, "links": {"self": views.v3(base_url(request), "auth/system")}}
    )
