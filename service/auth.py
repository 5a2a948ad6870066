"""Who is asking: the authenticated context every API handler works with."""

from datetime import datetime

import msgspec
from aiohttp import web

from events.types import Actor
from service.errors import Unauthorized
from service.identity.access_rules import AccessRule


class RoleRef(msgspec.Struct, frozen=True):
    id: str
    name: str


class TrustScope(msgspec.Struct, frozen=True):
    """The trust a token is scoped to: who delegated to whom, and whether the token acts
    as the trustor."""

    id: str
    trustor_user_id: str
    trustee_user_id: str
    impersonation: bool


class OAuthScope(msgspec.Struct, frozen=True):
    """The OAuth1 access token a token was made with, and its consumer."""

    access_token_id: str
    consumer_id: str


class AuthContext(msgspec.Struct, frozen=True, kw_only=True):
    """A validated token: its user, its scope, the roles it carries, and its lifetime."""

    user_id: str
    user_name: str
    user_domain_id: str
    user_domain_name: str
    password_expires_at: datetime | None = None
    scope: str  # "project" | "domain" | "system" | "unscoped"
    project_id: str | None = None
    project_name: str | None = None
    project_domain_id: str | None = None
    project_domain_name: str | None = None
    domain_id: str | None = None
    domain_name: str | None = None
    roles: tuple[RoleRef, ...] = ()
    methods: tuple[str, ...] = ()
    audit_ids: tuple[str, ...] = ()
    issued_at: datetime
    expires_at: datetime
    application_credential_id: str | None = None
    application_credential_name: str | None = None
    application_credential_unrestricted: bool = False
    trust: TrustScope | None = None
    """The trust the token is scoped to, if any: its roles are the trust's."""
    oauth: OAuthScope | None = None
    """The OAuth1 delegation the token was made with: its roles are the delegated ones."""
    access_rules: tuple[AccessRule, ...] | None = None
    """The requests the token may make, when its application credential has access rules
    (None: any the roles allow)."""

    @property
    def role_names(self) -> frozenset[str]:
        return frozenset(r.name for r in self.roles)

    def has_role(self, name: str) -> bool:
        return name in self.role_names

    @property
    def is_admin(self) -> bool:
        """Cloud administrator: the admin role, on the system or any project (as Keystone)."""
        return self.has_role("admin")

    def actor(self) -> Actor:
        """The event-metadata actor for this caller."""
        return Actor(
            user_id=self.user_id,
            project_id=self.project_id,
            domain_id=self.domain_id or self.project_domain_id,
            roles=tuple(sorted(self.role_names)),
        )


AUTH = web.RequestKey("auth", AuthContext)
"""Set by the auth middleware on requests that carry a valid token."""


def caller(request: web.Request) -> AuthContext:
    """The authenticated caller; raises Unauthorized (401) when the request has no valid token."""
    if AUTH not in request:
        raise Unauthorized()
    return request[AUTH]
