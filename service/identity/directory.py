"""Reading the identity read models: typed rows and the lookups the API needs."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

import msgspec

from service.identity.access_rules import AccessRule
from service.identity.fold import JSON_COLUMNS

T = TypeVar("T")
DEFAULT_DOMAIN_ID = "default"


class Domain(msgspec.Struct, frozen=True):
    id: str
    name: str
    description: str
    enabled: bool
    tags: list[str]


class Project(msgspec.Struct, frozen=True):
    id: str
    name: str
    domain_id: str
    parent_id: str | None
    description: str
    enabled: bool
    tags: list[str]
    options: dict[str, Any]


class User(msgspec.Struct, frozen=True):
    id: str
    name: str
    domain_id: str
    enabled: bool
    default_project_id: str | None
    description: str | None
    email: str | None
    extra: dict[str, Any]
    options: dict[str, Any]
    password_hash: str | None
    password_expires_at: datetime | None
    password_changed_at: datetime | None
    password_created_at: datetime | None
    failed_auth_count: int
    last_failed_auth_at: datetime | None


class Group(msgspec.Struct, frozen=True):
    id: str
    name: str
    domain_id: str
    description: str


class Role(msgspec.Struct, frozen=True):
    id: str
    name: str
    domain_id: str | None
    description: str | None
    options: dict[str, Any]


class Region(msgspec.Struct, frozen=True):
    id: str
    description: str
    parent_region_id: str | None


class Service(msgspec.Struct, frozen=True):
    id: str
    type: str
    name: str
    description: str
    enabled: bool


class Endpoint(msgspec.Struct, frozen=True):
    id: str
    service_id: str
    interface: str
    url: str
    region_id: str | None
    enabled: bool


class ApplicationCredential(msgspec.Struct, frozen=True):
    id: str
    user_id: str
    project_id: str
    name: str
    description: str | None
    secret_hash: str
    role_ids: list[str]
    expires_at: datetime | None
    unrestricted: bool
    access_rules: list[AccessRule]


class UserAccessRule(msgspec.Struct, frozen=True):
    """One of a user's access rules (rm_access_rules)."""

    id: str
    user_id: str
    service: str
    method: str
    path: str


class Credential(msgspec.Struct, frozen=True):
    id: str
    user_id: str
    project_id: str | None
    type: str
    encrypted_blob: str


class Policy(msgspec.Struct, frozen=True):
    id: str
    type: str
    blob: str


class Trust(msgspec.Struct, frozen=True):
    id: str
    trustor_user_id: str
    trustee_user_id: str
    project_id: str
    role_ids: list[str]
    impersonation: bool
    expires_at: datetime | None
    remaining_uses: int | None


class Consumer(msgspec.Struct, frozen=True):
    id: str
    description: str | None
    encrypted_secret: str


class RequestToken(msgspec.Struct, frozen=True):
    id: str
    consumer_id: str
    project_id: str
    encrypted_secret: str
    expires_at: datetime
    authorizing_user_id: str | None
    role_ids: list[str] | None
    verifier: str | None


class AccessToken(msgspec.Struct, frozen=True):
    id: str
    consumer_id: str
    authorizing_user_id: str
    project_id: str
    role_ids: list[str]
    encrypted_secret: str
    expires_at: datetime


class EndpointGroup(msgspec.Struct, frozen=True):
    id: str
    name: str
    description: str
    filters: dict[str, str]


class RegisteredLimit(msgspec.Struct, frozen=True):
    id: str
    service_id: str
    region_id: str | None
    resource_name: str
    default_limit: int
    description: str | None


class Limit(msgspec.Struct, frozen=True):
    id: str
    project_id: str | None
    domain_id: str | None
    service_id: str
    region_id: str | None
    resource_name: str
    resource_limit: int
    description: str | None


class Assignment(msgspec.Struct, frozen=True):
    actor_type: str
    actor_id: str
    target_type: str
    target_id: str
    role_id: str
    inherited: bool


_TABLES: dict[type, str] = {
    Domain: "rm_domains",
    Project: "rm_projects",
    User: "rm_users",
    Group: "rm_groups",
    Role: "rm_roles",
    Region: "rm_regions",
    Service: "rm_services",
    Endpoint: "rm_endpoints",
    ApplicationCredential: "rm_application_credentials",
    UserAccessRule: "rm_access_rules",
    Credential: "rm_credentials",
    Policy: "rm_policies",
    EndpointGroup: "rm_endpoint_groups",
    Trust: "rm_trusts",
    Consumer: "rm_consumers",
    RequestToken: "rm_request_tokens",
    AccessToken: "rm_access_tokens",
    RegisteredLimit: "rm_registered_limits",
    Limit: "rm_limits",
}


def _columns(type_: type) -> str:
    return ", ".join(type_.__struct_fields__)  # type: ignore[attr-defined]


def _decode_json(row: Any) -> dict[str, Any]:
    record = dict(row)
    for column in JSON_COLUMNS:
        if isinstance(record.get(column), bytes):
            record[column] = msgspec.json.decode(record[column])
    return record


async def get(db: Any, type_: type[T], row_id: str) -> T | None:
    """The row of `type_` with id `row_id`, or None."""
    row = await db.fetchrow(f"SELECT {_columns(type_)} FROM {_TABLES[type_]} WHERE id = $1", row_id)
    return None if row is None else msgspec.convert(_decode_json(row), type_)


async def select(db: Any, type_: type[T], where: str = "true", *args: Any) -> list[T]:
    """Rows of `type_` matching a SQL condition over its columns, ordered by name/id."""
    order = "name, id" if "name" in type_.__struct_fields__ else "id"  # type: ignore[attr-defined]
    rows = await db.fetch(
        f"SELECT {_columns(type_)} FROM {_TABLES[type_]} WHERE {where} ORDER BY {order}", *args
    )
    return [msgspec.convert(_decode_json(r), type_) for r in rows]


async def by_name(db: Any, type_: type[T], name: str, domain_id: str | None) -> T | None:
    """The row of `type_` named `name` (case-insensitively) in a domain (None: any)."""
    if type_ is Domain:
        found = await select(db, type_, "lower(name) = lower($1)", name)
    else:
        found = await select(
            db, type_, "lower(name) = lower($1) AND domain_id IS NOT DISTINCT FROM $2",
            name, domain_id,
        )  # fmt: skip
    return found[0] if found else None


async def effective_roles(db: Any, user_id: str, target_type: str, target_id: str) -> list[Role]:
    """The roles a user holds on a project, a domain or the system: direct, through
    groups, inherited from the project's domain and parents, and implied roles. Not the
    domain-specific ones: as in Keystone, such a role only stands for the global roles
    it implies."""
    rows = await db.fetch(
        """
        WITH RECURSIVE actors AS (
            SELECT 'user'::text AS actor_type, $1::text AS actor_id
            UNION ALL
            SELECT 'group', group_id FROM rm_group_members WHERE user_id = $1
        ), ancestors AS (
            SELECT p.parent_id, p.domain_id FROM rm_projects p
             WHERE $2 = 'project' AND p.id = $3
            UNION
            SELECT p.parent_id, p.domain_id FROM rm_projects p
              JOIN ancestors a ON p.id = a.parent_id
        ), granted AS (
            SELECT a.role_id FROM rm_role_assignments a JOIN actors USING (actor_type, actor_id)
             WHERE a.target_type = $2 AND a.target_id = $3 AND NOT a.inherited
            UNION
            SELECT a.role_id FROM rm_role_assignments a JOIN actors USING (actor_type, actor_id)
             WHERE a.inherited AND (
                   (a.target_type = 'domain' AND a.target_id IN (SELECT domain_id FROM ancestors))
                OR (a.target_type = 'project' AND a.target_id IN (SELECT parent_id FROM ancestors)))
        ), closure AS (
            SELECT role_id FROM granted
            UNION
            SELECT i.implied_role_id FROM rm_implied_roles i JOIN closure c
                ON i.prior_role_id = c.role_id
        )
        SELECT r.id, r.name, r.domain_id, r.description, r.options
          FROM rm_roles r JOIN closure c ON r.id = c.role_id
         WHERE r.domain_id IS NULL
         ORDER BY r.name
        """,
        user_id,
        target_type,
        target_id,
    )
    return [msgspec.convert(_decode_json(r), Role) for r in rows]


async def implied_closure(db: Any, role_ids: Sequence[str]) -> set[str]:
    """The roles and every role they imply, transitively."""
    rows = await db.fetch(
        """
        WITH RECURSIVE closure(role_id) AS (
            SELECT unnest($1::text[])
            UNION
            SELECT i.implied_role_id FROM rm_implied_roles i JOIN closure c
                ON i.prior_role_id = c.role_id
        )
        SELECT role_id FROM closure
        """,
        list(role_ids),
    )
    return {r["role_id"] for r in rows}


async def trust_roles(db: Any, trust: Trust) -> list[Role]:
    """The roles a trust gives now: those it names and they imply, of the roles its
    trustor still holds on its project."""
    held = await effective_roles(db, trust.trustor_user_id, "project", trust.project_id)
    delegated = await implied_closure(db, trust.role_ids)
    return [r for r in held if r.id in delegated]


async def password_history(db: Any, user_id: str, count: int) -> list[str]:
    """The user's last `count` password hashes, newest first."""
    rows = await db.fetch(
        "SELECT hash FROM rm_password_history WHERE user_id = $1 ORDER BY position DESC LIMIT $2",
        user_id,
        count,
    )
    return [r[0] for r in rows]
