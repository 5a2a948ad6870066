"""Identity events. Streams: `domain-<id>`, `project-<id>`, `user-<id>` (also the user's
role grants and password changes), `group-<id>` (membership and group grants), `role-<id>`,
`region-<id>`, `service-<id>`, `endpoint-<id>`, `appcred-<id>`, `login-<user id>`
(authentication outcomes) and `token-<audit id>` (explicit revocations).

Partial updates carry only the fields that changed (msgspec UNSET is omitted when
encoded). Fields named in `secret_fields` never leave Kumo in event streams to users.
"""

from datetime import datetime
from typing import Any, ClassVar

from msgspec import UNSET, UnsetType

from events.types import Event
from service.identity.access_rules import AccessRule


class DomainCreated(Event, frozen=True):
    domain_id: str
    name: str
    description: str = ""
    enabled: bool = True
    tags: tuple[str, ...] = ()


class DomainUpdated(Event, frozen=True):
    domain_id: str
    name: str | UnsetType = UNSET
    description: str | UnsetType = UNSET
    enabled: bool | UnsetType = UNSET
    tags: tuple[str, ...] | UnsetType = UNSET


class DomainDeleted(Event, frozen=True):
    domain_id: str


class ProjectCreated(Event, frozen=True):
    project_id: str
    name: str
    domain_id: str
    parent_id: str | None = None
    description: str = ""
    enabled: bool = True
    tags: tuple[str, ...] = ()
    options: dict[str, Any] = {}


class ProjectUpdated(Event, frozen=True):
    project_id: str
    name: str | UnsetType = UNSET
    description: str | UnsetType = UNSET
    enabled: bool | UnsetType = UNSET
    tags: tuple[str, ...] | UnsetType = UNSET
    options: dict[str, Any] | UnsetType = UNSET


class ProjectDeleted(Event, frozen=True):
    project_id: str


class UserCreated(Event, frozen=True):
    secret_fields: ClassVar[tuple[str, ...]] = ("password_hash",)

    user_id: str
    name: str
    domain_id: str
    enabled: bool = True
    default_project_id: str | None = None
    description: str | None = None
    email: str | None = None
    password_hash: str | None = None
    password_expires_at: datetime | None = None
    extra: dict[str, Any] = {}
    options: dict[str, Any] = {}


class UserUpdated(Event, frozen=True):
    user_id: str
    name: str | UnsetType = UNSET
    enabled: bool | UnsetType = UNSET
    default_project_id: str | None | UnsetType = UNSET
    description: str | None | UnsetType = UNSET
    email: str | None | UnsetType = UNSET
    extra: dict[str, Any] | UnsetType = UNSET
    options: dict[str, Any] | UnsetType = UNSET


class UserPasswordChanged(Event, frozen=True):
    """A new password; every token of the user issued before it is revoked."""

    secret_fields: ClassVar[tuple[str, ...]] = ("password_hash",)

    user_id: str
    password_hash: str
    expires_at: datetime | None = None
    self_service: bool = False


class UserDeleted(Event, frozen=True):
    user_id: str


class AuthenticationSucceeded(Event, frozen=True):
    user_id: str
    method: str
    scope: str | None = None


class AuthenticationFailed(Event, frozen=True):
    """A refused authentication of a known user; `failed_count` is the user's count of
    failures in a row after it (lockout counts them)."""

    user_id: str
    method: str
    reason: str
    failed_count: int


class GroupCreated(Event, frozen=True):
    group_id: str
    name: str
    domain_id: str
    description: str = ""


class GroupUpdated(Event, frozen=True):
    group_id: str
    name: str | UnsetType = UNSET
    description: str | UnsetType = UNSET


class GroupDeleted(Event, frozen=True):
    group_id: str


class UserAddedToGroup(Event, frozen=True):
    group_id: str
    user_id: str


class UserRemovedFromGroup(Event, frozen=True):
    group_id: str
    user_id: str


class RoleCreated(Event, frozen=True):
    role_id: str
    name: str
    domain_id: str | None = None
    description: str | None = None
    options: dict[str, Any] = {}


class RoleUpdated(Event, frozen=True):
    role_id: str
    name: str | UnsetType = UNSET
    description: str | None | UnsetType = UNSET
    options: dict[str, Any] | UnsetType = UNSET


class RoleDeleted(Event, frozen=True):
    role_id: str


class RoleImplied(Event, frozen=True):
    prior_role_id: str
    implied_role_id: str


class RoleImplicationRemoved(Event, frozen=True):
    prior_role_id: str
    implied_role_id: str


class RoleGranted(Event, frozen=True):
    """A role for a user or group on a project, a domain, or the system (`target_id` "all")."""

    role_id: str
    actor_type: str  # "user" | "group"
    actor_id: str
    target_type: str  # "project" | "domain" | "system"
    target_id: str
    inherited: bool = False


class RoleRevoked(Event, frozen=True):
    role_id: str
    actor_type: str
    actor_id: str
    target_type: str
    target_id: str
    inherited: bool = False


class RegionCreated(Event, frozen=True):
    region_id: str
    description: str = ""
    parent_region_id: str | None = None


class RegionUpdated(Event, frozen=True):
    region_id: str
    description: str | UnsetType = UNSET
    parent_region_id: str | None | UnsetType = UNSET


class RegionDeleted(Event, frozen=True):
    region_id: str


class ServiceCreated(Event, frozen=True):
    service_id: str
    type: str
    name: str = ""
    description: str = ""
    enabled: bool = True


class ServiceUpdated(Event, frozen=True):
    service_id: str
    type: str | UnsetType = UNSET
    name: str | UnsetType = UNSET
    description: str | UnsetType = UNSET
    enabled: bool | UnsetType = UNSET


class ServiceDeleted(Event, frozen=True):
    service_id: str


class EndpointCreated(Event, frozen=True):
    endpoint_id: str
    service_id: str
    interface: str
    url: str
    region_id: str | None = None
    enabled: bool = True


class EndpointUpdated(Event, frozen=True):
    endpoint_id: str
    service_id: str | UnsetType = UNSET
    interface: str | UnsetType = UNSET
    url: str | UnsetType = UNSET
    region_id: str | None | UnsetType = UNSET
    enabled: bool | UnsetType = UNSET


class EndpointDeleted(Event, frozen=True):
    endpoint_id: str


class ApplicationCredentialCreated(Event, frozen=True):
    secret_fields: ClassVar[tuple[str, ...]] = ("secret_hash",)

    application_credential_id: str
    user_id: str
    project_id: str
    name: str
    secret_hash: str
    role_ids: tuple[str, ...]
    description: str | None = None
    expires_at: datetime | None = None
    unrestricted: bool = False
    access_rules: tuple[AccessRule, ...] = ()
    """The only requests its tokens may make, if any (each rule kept for the user, and
    shared by the user's credentials that name the same request)."""


class ApplicationCredentialDeleted(Event, frozen=True):
    application_credential_id: str
    user_id: str


class AccessRuleDeleted(Event, frozen=True):
    """A user's access rule that no application credential uses any more, forgotten."""

    user_id: str
    access_rule_id: str


class EndpointGroupCreated(Event, frozen=True):
    """A named set of endpoints, chosen by `filters` (service_id, interface, region_id),
    that can be given to projects (Keystone's OS-EP-FILTER)."""

    endpoint_group_id: str
    name: str
    filters: dict[str, str]
    description: str = ""


class EndpointGroupUpdated(Event, frozen=True):
    endpoint_group_id: str
    name: str | UnsetType = UNSET
    filters: dict[str, str] | UnsetType = UNSET
    description: str | UnsetType = UNSET


class EndpointGroupDeleted(Event, frozen=True):
    endpoint_group_id: str


class EndpointGroupGivenToProject(Event, frozen=True):
    endpoint_group_id: str
    project_id: str


class EndpointGroupTakenFromProject(Event, frozen=True):
    endpoint_group_id: str
    project_id: str


class EndpointGivenToProject(Event, frozen=True):
    """A project's catalog shows this endpoint; once a project is given any endpoint or
    group, its catalog shows those only."""

    project_id: str
    endpoint_id: str


class EndpointTakenFromProject(Event, frozen=True):
    project_id: str
    endpoint_id: str


class PolicyCreated(Event, frozen=True):
    """A policy document stored for others to fetch (Keystone's /v3/policies: a blob and
    its MIME type; Keystone itself enforces its own rules, not these)."""

    policy_id: str
    type: str
    blob: str


class PolicyUpdated(Event, frozen=True):
    policy_id: str
    type: str | UnsetType = UNSET
    blob: str | UnsetType = UNSET


class PolicyDeleted(Event, frozen=True):
    policy_id: str


class CredentialCreated(Event, frozen=True):
    """A credential stored for a user (an EC2 key pair, a certificate, a TOTP seed...):
    its blob is kept encrypted with the credential keys, as Keystone keeps it."""

    secret_fields: ClassVar[tuple[str, ...]] = ("encrypted_blob",)

    credential_id: str
    user_id: str
    type: str
    encrypted_blob: str
    project_id: str | None = None


class CredentialUpdated(Event, frozen=True):
    secret_fields: ClassVar[tuple[str, ...]] = ("encrypted_blob",)

    credential_id: str
    user_id: str | UnsetType = UNSET
    type: str | UnsetType = UNSET
    encrypted_blob: str | UnsetType = UNSET
    project_id: str | None | UnsetType = UNSET


class CredentialDeleted(Event, frozen=True):
    credential_id: str


class TrustCreated(Event, frozen=True):
    """A trustor delegates roles it holds on a project to a trustee (Keystone's
    OS-TRUST): tokens scoped to the trust carry those roles there, as the trustee or, with
    `impersonation`, as the trustor."""

    trust_id: str
    trustor_user_id: str
    trustee_user_id: str
    project_id: str
    role_ids: tuple[str, ...]
    impersonation: bool
    expires_at: datetime | None = None
    remaining_uses: int | None = None


class TrustUsed(Event, frozen=True):
    """A token was issued with a trust that counts its uses: one use fewer is left."""

    trust_id: str


class TrustDeleted(Event, frozen=True):
    trust_id: str


class TokenRevoked(Event, frozen=True):
    """A token revoked by its audit id (every token sharing the audit chain)."""

    audit_id: str
    expires_at: datetime


class ConsumerCreated(Event, frozen=True):
    """An OAuth1 consumer (OS-OAUTH1): an application that may ask users to delegate
    roles to it. Its secret signs its requests, so it is kept, sealed with the credential
    keys."""

    secret_fields: ClassVar[tuple[str, ...]] = ("encrypted_secret",)

    consumer_id: str
    description: str | None
    encrypted_secret: str


class ConsumerUpdated(Event, frozen=True):
    consumer_id: str
    description: str | None | UnsetType = UNSET


class ConsumerDeleted(Event, frozen=True):
    """The consumer is gone; so are its request and access tokens (their own events)."""

    consumer_id: str


class RequestTokenCreated(Event, frozen=True):
    """A consumer asked for roles on a project; a user of it may authorize the request."""

    secret_fields: ClassVar[tuple[str, ...]] = ("encrypted_secret",)

    request_token_id: str
    consumer_id: str
    project_id: str
    encrypted_secret: str
    expires_at: datetime


class RequestTokenAuthorized(Event, frozen=True):
    """A user delegated these of its roles on the project; the consumer exchanges the
    verifier for an access token."""

    secret_fields: ClassVar[tuple[str, ...]] = ("verifier",)

    request_token_id: str
    authorizing_user_id: str
    role_ids: tuple[str, ...]
    verifier: str


class RequestTokenDeleted(Event, frozen=True):
    """Exchanged for an access token, or gone with its consumer."""

    request_token_id: str


class AccessTokenCreated(Event, frozen=True):
    """The consumer may get tokens of the authorizing user on the project, with the
    delegated roles, until the access token expires or is deleted."""

    secret_fields: ClassVar[tuple[str, ...]] = ("encrypted_secret",)

    access_token_id: str
    consumer_id: str
    authorizing_user_id: str
    project_id: str
    role_ids: tuple[str, ...]
    encrypted_secret: str
    expires_at: datetime


class AccessTokenDeleted(Event, frozen=True):
    """Revoked by its user (or gone with its consumer); tokens made with it stop working."""

    access_token_id: str
