"""The identity runtime one API process holds: keys, token codec, password rules and
revocations, and the two things every request needs from identity: checking a
password and turning a token into an AuthContext."""

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta

from aiohttp import web
from msgspec.structs import replace

from events.clock import Clock, SystemClock
from events.follow import follow
from events.postgres import PostgresEventStore
from events.types import Event, Metadata, RecordedEvent
from service.auth import AuthContext, OAuthScope, RoleRef, TrustScope
from service.config import Settings
from service.errors import Unauthorized
from service.identity import events as ev
from service.identity.compliance import (
    SecurityCompliance,
    check_new_password,
    locked_out,
    next_failed_count,
    password_expires_at,
)
from service.identity.directory import (
    AccessToken,
    ApplicationCredential,
    Domain,
    Project,
    Trust,
    User,
    effective_roles,
    get,
    password_history,
    trust_roles,
)
from service.identity.fernet_keys import KeyRepository, KeyRing
from service.identity.passwords import hash_password, verify_password
from service.identity.revocations import REVOKING_TYPES, Revocations
from service.identity.service_catalog import (
    Catalog,
    for_project,
    load_catalog,
    only,
    project_endpoints,
)
from service.identity.token_format import InvalidToken, TokenCodec, TokenPayload

CHANGES_IDENTITY = frozenset(
    cls.type_name()
    for cls in vars(ev).values()
    if isinstance(cls, type) and issubclass(cls, Event) and cls is not Event
) - {ev.AuthenticationSucceeded.type_name(), ev.AuthenticationFailed.type_name()}
"""Event types that change who a token stands for (logins do not)."""

OPENED_TOKENS_KEPT = 50_000
"""Decrypted tokens (and per-project catalogs) remembered; past that, forgotten at once."""


def compliance_of(settings: Settings) -> SecurityCompliance:
    """Keystone's security_compliance options as configured."""
    return SecurityCompliance(
        lockout_failure_attempts=settings.lockout_failure_attempts,
        lockout_duration=settings.lockout_duration,
        unique_last_password_count=settings.unique_last_password_count,
        minimum_password_age=settings.minimum_password_age,
        password_expires_days=settings.password_expires_days,
        password_regex=settings.password_regex,
        password_regex_description=settings.password_regex_description,
    )


class Identity:
    """Identity state and rules shared by the handlers of one process."""

    def __init__(
        self, settings: Settings, store: PostgresEventStore, *, clock: Clock | None = None
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock or SystemClock()
        self.compliance = compliance_of(settings)
        self.keys = KeyRepository(settings.data_dir / "fernet-keys")
        self.keys.ensure()
        self.codec = TokenCodec(
            KeyRing(self.keys), self.clock, lifetime=timedelta(seconds=settings.token_expiration)
        )
        credential_keys = KeyRepository(settings.data_dir / "credential-keys")
        credential_keys.ensure()
        self.credential_keys = KeyRing(credential_keys)
        """Encrypt the blobs of /v3/credentials (Keystone's separate credential keys)."""
        self.revocations = Revocations()
        self._resolved: dict[tuple[str | None, ...], AuthContext] = {}
        self._catalog: Catalog | None = None
        self._project_catalogs: dict[str | None, Catalog] = {}
        self._opened: dict[str, TokenPayload] = {}  # token -> payload: decrypt once
        self._generation = 0

    async def hash_password(self, password: str) -> str:
        return await hash_password(password, self.settings.password_hash_rounds)

    def password_expires_at(self) -> datetime | None:
        return password_expires_at(self.clock.now(), self.compliance)

    async def check_new_password(self, user: User | None, new: str, *, self_service: bool) -> None:
        """Raise PasswordRejected (400) if the rules refuse `new` for `user`."""
        history = (
            await password_history(
                self.store.pool, user.id, self.compliance.unique_last_password_count
            )
            if user is not None
            else []
        )
        changed_by_user = user.password_changed_at if user is not None else None
        await check_new_password(
            new, history, changed_by_user, self.clock.now(), self.compliance, not self_service
        )

    async def password_changed(
        self, user: User, new: str, self_service: bool
    ) -> ev.UserPasswordChanged:
        """The event setting `new` as the user's password, once the rules accept it."""
        await self.check_new_password(user, new, self_service=self_service)
        return ev.UserPasswordChanged(
            user_id=user.id,
            password_hash=await self.hash_password(new),
            expires_at=self.password_expires_at(),
            self_service=self_service,
        )

    async def verify_password(self, metadata: Metadata, user: User, password: str) -> None:
        """Authenticate `user` by password, recording the outcome as an event.

        Raises Unauthorized (401) for a disabled or locked user, a wrong password, or
        an expired one; a locked account is refused before its password is checked.
        """
        now = self.clock.now()
        if not user.enabled:
            raise Unauthorized(f"The account is disabled for user: {user.id}.")
        if locked_out(user.failed_auth_count, user.last_failed_auth_at, now, self.compliance):
            raise Unauthorized(f"The account is locked for user: {user.id}.")
        if user.password_hash is None or not await verify_password(password, user.password_hash):
            count = next_failed_count(
                user.failed_auth_count, user.last_failed_auth_at, now, self.compliance
            )
            failed = ev.AuthenticationFailed(
                user_id=user.id, method="password", reason="wrong password", failed_count=count
            )
            await self.store.append(f"login-{user.id}", [failed], metadata=metadata)
            raise Unauthorized("The request you have made requires authentication.")
        if user.password_expires_at is not None and user.password_expires_at <= now:
            raise Unauthorized(
                f"The password is expired and needs to be changed for user: {user.id}."
            )
        succeeded = ev.AuthenticationSucceeded(user_id=user.id, method="password")
        await self.store.append(f"login-{user.id}", [succeeded], metadata=metadata)

    async def validate(self, token: str, *, fresh: bool = False) -> AuthContext:
        """The caller a token stands for, as things are now: raises InvalidToken or
        Unauthorized (401) if it is malformed, expired, revoked, or its user, scope or
        roles are gone or disabled. `fresh`: as the database has it rather than as this
        process last heard, since another serving process may have revoked the token or
        changed its caller a moment ago (what the identity API's own token checks need)."""
        payload = self._opened.get(token)
        if payload is None or self.clock.now() >= payload.expires_at:
            payload = self.codec.open(token)
            if len(self._opened) >= OPENED_TOKENS_KEPT:
                self._opened.clear()
            self._opened[token] = payload
        facts = payload.user_id, payload.audit_ids, payload.issued_at
        if self.revocations.revoked(*facts) or (
            fresh and await Revocations.revoked_now(self.store.pool, *facts)
        ):
            raise InvalidToken("undecryptable")
        return await self.context_for(payload, fresh=fresh)

    def observe(self, events: Sequence[RecordedEvent]) -> None:
        """Take in appended events: revocations, and forgetting resolved callers whenever
        identity data changed (whoever appended it), so validation sees it at once."""
        self.revocations.apply(events)
        if any(e.type in CHANGES_IDENTITY for e in events):
            self._generation += 1
            self._resolved.clear()
            self._catalog = None
            self._project_catalogs.clear()

    async def catalog(self, project_id: str | None) -> Catalog:
        """The service catalog for a token scoped to `project_id` (None: no project)."""
        filled = self._project_catalogs.get(project_id)
        if filled is not None:
            return filled
        generation = self._generation
        catalog = self._catalog or await load_catalog(self.store.pool)
        given = await project_endpoints(self.store.pool, project_id) if project_id else []
        if given:  # else, as Keystone's return_all_endpoints_if_no_filter: all of them
            filled = for_project(only(catalog, {e.id for e in given}), project_id)
        else:
            filled = for_project(catalog, project_id)
        if generation == self._generation:
            self._catalog = catalog
            if len(self._project_catalogs) >= OPENED_TOKENS_KEPT:
                self._project_catalogs.clear()
            self._project_catalogs[project_id] = filled
        return filled

    async def follow_changes(self) -> None:
        """Observe identity events appended by other processes, until cancelled."""
        after = await self.store.head_position()
        types = sorted(CHANGES_IDENTITY | set(REVOKING_TYPES))
        async for event in follow(self.store, None, after, types=types):
            self.observe([event])

    async def context_for(self, payload: TokenPayload, *, fresh: bool = False) -> AuthContext:
        """The caller a token payload stands for. Resolved callers are remembered until
        identity data changes (`fresh`: resolved anew); the token's own fields are filled
        in each time."""
        key = (payload.user_id, payload.scope_kind, payload.scope_id,
               payload.application_credential_id, payload.trust_id,
               payload.access_token_id)  # fmt: skip
        resolved = None if fresh else self._resolved.get(key)
        if resolved is None:
            generation = self._generation
            resolved = await self._resolve(payload)
            if generation == self._generation:
                self._resolved[key] = resolved
        return replace(
            resolved, methods=payload.methods, audit_ids=payload.audit_ids,
            issued_at=payload.issued_at, expires_at=payload.expires_at,
        )  # fmt: skip

    async def _resolve(self, payload: TokenPayload) -> AuthContext:
        """Resolve a token payload against the identity read models."""
        pool = self.store.pool
        user = await get(pool, User, payload.user_id)
        if user is None or not user.enabled:
            raise Unauthorized(f"Could not find user: {payload.user_id}.")
        user_domain = await self._enabled_domain(user.domain_id)
        context = AuthContext(
            user_id=user.id,
            user_name=user.name,
            user_domain_id=user_domain.id,
            user_domain_name=user_domain.name,
            password_expires_at=user.password_expires_at,
            scope=payload.scope_kind,
            methods=payload.methods,
            audit_ids=payload.audit_ids,
            issued_at=payload.issued_at,
            expires_at=payload.expires_at,
            application_credential_id=payload.application_credential_id,
        )
        if payload.scope_kind == "unscoped" or payload.scope_id is None:
            return context
        if payload.trust_id is not None:
            trust = await self._trust(payload.trust_id)
            roles = await trust_roles(pool, trust)
            scope = TrustScope(
                trust.id, trust.trustor_user_id, trust.trustee_user_id, trust.impersonation
            )
            context = replace(context, trust=scope)
        else:
            roles = await effective_roles(pool, user.id, payload.scope_kind, payload.scope_id)
        if payload.access_token_id is not None:
            access = await self._access_token(payload.access_token_id)
            roles = [r for r in roles if r.id in access.role_ids]
            context = replace(context, oauth=OAuthScope(access.id, access.consumer_id))
        if payload.application_credential_id is not None:
            credential = await self._credential(payload)
            roles = [r for r in roles if r.id in credential.role_ids]
            context = replace(
                context,
                application_credential_name=credential.name,
                application_credential_unrestricted=credential.unrestricted,
                access_rules=tuple(credential.access_rules) or None,
            )
        if not roles:
            raise Unauthorized(
                f"User {user.id} has no access to {payload.scope_kind} {payload.scope_id}."
            )
        refs = tuple(RoleRef(r.id, r.name) for r in roles)
        match payload.scope_kind:
            case "project":
                project = await get(pool, Project, payload.scope_id)
                if project is None or not project.enabled:
                    raise Unauthorized(f"Could not find project: {payload.scope_id}.")
                domain = await self._enabled_domain(project.domain_id)
                return replace(
                    context, project_id=project.id, project_name=project.name,
                    project_domain_id=domain.id, project_domain_name=domain.name, roles=refs,
                )  # fmt: skip
            case "domain":
                domain = await self._enabled_domain(payload.scope_id)
                return replace(context, domain_id=domain.id, domain_name=domain.name, roles=refs)
            case _:
                return replace(context, roles=refs)

    async def _enabled_domain(self, domain_id: str) -> Domain:
        domain = await get(self.store.pool, Domain, domain_id)
        if domain is None or not domain.enabled:
            raise Unauthorized(f"Could not find domain: {domain_id}.")
        return domain

    async def _access_token(self, access_token_id: str) -> AccessToken:
        """An OAuth1 access token tokens may still be made with; Unauthorized if it was
        deleted (with its consumer, or by its user) or has expired."""
        access = await get(self.store.pool, AccessToken, access_token_id)
        if access is None or access.expires_at <= self.clock.now():
            raise Unauthorized(f"The OAuth access token {access_token_id} is gone or expired.")
        return access

    async def _trust(self, trust_id: str) -> Trust:
        """A trust tokens may still be scoped to; Unauthorized if deleted or expired."""
        trust = await get(self.store.pool, Trust, trust_id)
        if trust is None:
            raise Unauthorized(f"Could not find trust: {trust_id}.")
        if trust.expires_at is not None and trust.expires_at <= self.clock.now():
            raise Unauthorized(f"Trust {trust_id} has expired.")
        trustor = await get(self.store.pool, User, trust.trustor_user_id)
        if trustor is None or not trustor.enabled:
            raise Unauthorized(f"The trustor of trust {trust_id} is disabled or gone.")
        return trust

    async def _credential(self, payload: TokenPayload) -> ApplicationCredential:
        """The token's application credential; Unauthorized if deleted or expired."""
        credential_id = payload.application_credential_id or ""
        credential = await get(self.store.pool, ApplicationCredential, credential_id)
        if credential is None:
            raise Unauthorized("The application credential was deleted.")
        if credential.expires_at is not None and credential.expires_at <= self.clock.now():
            raise Unauthorized("The application credential has expired.")
        return credential


IDENTITY_RUNTIME = web.AppKey("identity", Identity)
"""The identity runtime; read it as `request.config_dict[IDENTITY_RUNTIME]`."""


async def identity_context(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: load revocations before serving, then follow other processes' changes."""
    identity = app[IDENTITY_RUNTIME]
    await identity.revocations.load(identity.store.pool)
    following = asyncio.create_task(identity.follow_changes())
    yield
    following.cancel()
    await asyncio.gather(following, return_exceptions=True)
