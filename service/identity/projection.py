"""The identity read models (rm_* tables of migrations/0003_identity.sql), kept inline."""

from typing import Any

import msgspec

from events.types import Event, RecordedEvent
from projections.rows import set_fields, update_row
from service.identity import events as ev

_ID_FIELDS = {
    "domain_id": "rm_domains",
    "project_id": "rm_projects",
    "user_id": "rm_users",
    "group_id": "rm_groups",
    "role_id": "rm_roles",
    "region_id": "rm_regions",
    "service_id": "rm_services",
    "endpoint_id": "rm_endpoints",
}
_JSON_COLUMNS = {"extra", "options"}


def _updated_key(event: msgspec.Struct) -> str:
    return next(f for f in event.__struct_fields__ if f in _ID_FIELDS)


class IdentityProjection:
    """Domains, projects, users, groups, roles, assignments, catalog, credentials, revocations."""

    name: str = "identity"
    tables: tuple[str, ...] = (
        "rm_domains", "rm_projects", "rm_users", "rm_password_history", "rm_groups",
        "rm_group_members", "rm_roles", "rm_implied_roles", "rm_role_assignments", "rm_regions",
        "rm_services", "rm_endpoints", "rm_application_credentials", "rm_token_revocations",
    )  # fmt: skip
    types: frozenset[str] | None = frozenset(
        cls.type_name()
        for cls in vars(ev).values()
        if isinstance(cls, type) and issubclass(cls, Event) and cls is not Event
    )

    async def apply(self, conn: Any, recorded: RecordedEvent) -> None:
        at = recorded.recorded_at
        match recorded.event:
            case ev.DomainCreated() as e:
                await conn.execute(
                    "INSERT INTO rm_domains (id, name, description, enabled, tags, created_at)"
                    " VALUES ($1, $2, $3, $4, $5, $6)",
                    e.domain_id, e.name, e.description, e.enabled, list(e.tags), at,
                )  # fmt: skip
            case ev.ProjectCreated() as e:
                await conn.execute(
                    "INSERT INTO rm_projects (id, name, domain_id, parent_id, description,"
                    " enabled, tags, options, created_at)"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9)",
                    e.project_id, e.name, e.domain_id, e.parent_id, e.description, e.enabled,
                    list(e.tags), msgspec.json.encode(e.options), at,
                )  # fmt: skip
            case ev.UserCreated() as e:
                await conn.execute(
                    "INSERT INTO rm_users (id, name, domain_id, enabled, default_project_id,"
                    " description, email, extra, options, password_hash, password_created_at,"
                    " password_expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7,"
                    " $8::jsonb, $9::jsonb, $10, $11, $12, $11)",
                    e.user_id, e.name, e.domain_id, e.enabled, e.default_project_id,
                    e.description, e.email, msgspec.json.encode(e.extra),
                    msgspec.json.encode(e.options), e.password_hash, at, e.password_expires_at,
                )  # fmt: skip
                if e.password_hash is not None:
                    await _remember_password(conn, recorded, e.user_id, e.password_hash)
            case ev.UserPasswordChanged() as e:
                await conn.execute(
                    "UPDATE rm_users SET password_hash = $2, password_created_at = $3,"
                    " password_expires_at = $4, password_changed_at = $5, failed_auth_count = 0"
                    " WHERE id = $1",
                    e.user_id, e.password_hash, at, e.expires_at, at if e.self_service else None,
                )  # fmt: skip
                await _remember_password(conn, recorded, e.user_id, e.password_hash)
                await _revoke(conn, "user", e.user_id, at, None)
            case ev.AuthenticationSucceeded() as e:
                await conn.execute(
                    "UPDATE rm_users SET failed_auth_count = 0, last_active_at = $2 WHERE id = $1",
                    e.user_id, at,
                )  # fmt: skip
            case ev.AuthenticationFailed() as e:
                await conn.execute(
                    "UPDATE rm_users SET failed_auth_count = $3, last_failed_auth_at = $2"
                    " WHERE id = $1",
                    e.user_id, at, e.failed_count,
                )  # fmt: skip
            case ev.GroupCreated() as e:
                await conn.execute(
                    "INSERT INTO rm_groups (id, name, domain_id, description, created_at)"
                    " VALUES ($1, $2, $3, $4, $5)",
                    e.group_id, e.name, e.domain_id, e.description, at,
                )  # fmt: skip
            case ev.UserAddedToGroup() as e:
                await conn.execute(
                    "INSERT INTO rm_group_members VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    e.group_id, e.user_id,
                )  # fmt: skip
            case ev.UserRemovedFromGroup() as e:
                await conn.execute(
                    "DELETE FROM rm_group_members WHERE group_id = $1 AND user_id = $2",
                    e.group_id, e.user_id,
                )  # fmt: skip
            case ev.RoleCreated() as e:
                await conn.execute(
                    "INSERT INTO rm_roles (id, name, domain_id, description, options, created_at)"
                    " VALUES ($1, $2, $3, $4, $5::jsonb, $6)",
                    e.role_id, e.name, e.domain_id, e.description, msgspec.json.encode(e.options),
                    at,
                )  # fmt: skip
            case ev.RoleImplied() as e:
                await conn.execute(
                    "INSERT INTO rm_implied_roles VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    e.prior_role_id, e.implied_role_id,
                )  # fmt: skip
            case ev.RoleImplicationRemoved() as e:
                await conn.execute(
                    "DELETE FROM rm_implied_roles"
                    " WHERE prior_role_id = $1 AND implied_role_id = $2",
                    e.prior_role_id, e.implied_role_id,
                )  # fmt: skip
            case ev.RoleGranted() as e:
                await conn.execute(
                    "INSERT INTO rm_role_assignments VALUES ($1, $2, $3, $4, $5, $6)"
                    " ON CONFLICT DO NOTHING",
                    e.actor_type, e.actor_id, e.target_type, e.target_id, e.role_id, e.inherited,
                )  # fmt: skip
            case ev.RoleRevoked() as e:
                await conn.execute(
                    "DELETE FROM rm_role_assignments WHERE actor_type = $1 AND actor_id = $2"
                    " AND target_type = $3 AND target_id = $4 AND role_id = $5 AND inherited = $6",
                    e.actor_type, e.actor_id, e.target_type, e.target_id, e.role_id, e.inherited,
                )  # fmt: skip
            case ev.RegionCreated() as e:
                await conn.execute(
                    "INSERT INTO rm_regions VALUES ($1, $2, $3)",
                    e.region_id, e.description, e.parent_region_id,
                )  # fmt: skip
            case ev.ServiceCreated() as e:
                await conn.execute(
                    "INSERT INTO rm_services VALUES ($1, $2, $3, $4, $5)",
                    e.service_id, e.type, e.name, e.description, e.enabled,
                )  # fmt: skip
            case ev.EndpointCreated() as e:
                await conn.execute(
                    "INSERT INTO rm_endpoints VALUES ($1, $2, $3, $4, $5, $6)",
                    e.endpoint_id, e.service_id, e.interface, e.url, e.region_id, e.enabled,
                )  # fmt: skip
            case ev.ApplicationCredentialCreated() as e:
                await conn.execute(
                    "INSERT INTO rm_application_credentials (id, user_id, project_id, name,"
                    " description, secret_hash, role_ids, expires_at, unrestricted, created_at)"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    e.application_credential_id, e.user_id, e.project_id, e.name, e.description,
                    e.secret_hash, list(e.role_ids), e.expires_at, e.unrestricted, at,
                )  # fmt: skip
            case ev.ApplicationCredentialDeleted() as e:
                await conn.execute(
                    "DELETE FROM rm_application_credentials WHERE id = $1",
                    e.application_credential_id,
                )
            case ev.TokenRevoked() as e:
                await _revoke(conn, "audit", e.audit_id, at, e.expires_at)
            case (
                ev.DomainDeleted()
                | ev.ProjectDeleted()
                | ev.UserDeleted()
                | ev.GroupDeleted()
                | ev.RoleDeleted()
                | ev.RegionDeleted()
                | ev.ServiceDeleted()
                | ev.EndpointDeleted() as e
            ):
                await _delete(conn, e)
            case (
                ev.DomainUpdated() | ev.ProjectUpdated() | ev.UserUpdated() | ev.GroupUpdated()
                | ev.RoleUpdated() | ev.RegionUpdated() | ev.ServiceUpdated() | ev.EndpointUpdated()
            ) as e:  # fmt: skip
                key = _updated_key(e)
                changes = set_fields(e, exclude={key})
                if "tags" in changes:
                    changes["tags"] = list(changes["tags"])
                await update_row(
                    conn, _ID_FIELDS[key], ("id", getattr(e, key)), changes,
                    json_columns=_JSON_COLUMNS,
                )  # fmt: skip


async def _remember_password(conn: Any, recorded: RecordedEvent, user_id: str, hash_: str) -> None:
    await conn.execute(
        "INSERT INTO rm_password_history VALUES ($1, $2, $3, $4)",
        user_id, recorded.position, hash_, recorded.recorded_at,
    )  # fmt: skip


async def _revoke(conn: Any, kind: str, key: str, at: Any, expires_at: Any) -> None:
    await conn.execute(
        "INSERT INTO rm_token_revocations VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (kind, key) DO UPDATE SET revoked_at = $3, expires_at = $4",
        kind, key, at, expires_at,
    )  # fmt: skip


async def _delete(conn: Any, event: msgspec.Struct) -> None:
    """Remove a deleted resource and whatever hangs on it."""
    key = _updated_key(event)
    row_id = getattr(event, key)
    await conn.execute(f"DELETE FROM {_ID_FIELDS[key]} WHERE id = $1", row_id)
    match key:
        case "project_id" | "domain_id":
            target = key.removesuffix("_id")
            await conn.execute(
                "DELETE FROM rm_role_assignments WHERE target_type = $1 AND target_id = $2",
                target, row_id,
            )  # fmt: skip
            if key == "project_id":
                await conn.execute(
                    "DELETE FROM rm_application_credentials WHERE project_id = $1", row_id
                )
        case "user_id" | "group_id":
            actor = key.removesuffix("_id")
            await conn.execute(
                "DELETE FROM rm_role_assignments WHERE actor_type = $1 AND actor_id = $2",
                actor, row_id,
            )  # fmt: skip
            await conn.execute(f"DELETE FROM rm_group_members WHERE {key} = $1", row_id)
            if key == "user_id":
                await conn.execute("DELETE FROM rm_password_history WHERE user_id = $1", row_id)
                await conn.execute(
                    "DELETE FROM rm_application_credentials WHERE user_id = $1", row_id
                )
        case "role_id":
            await conn.execute("DELETE FROM rm_role_assignments WHERE role_id = $1", row_id)
            await conn.execute(
                "DELETE FROM rm_implied_roles WHERE prior_role_id = $1 OR implied_role_id = $1",
                row_id,
            )
        case "service_id":
            await conn.execute("DELETE FROM rm_endpoints WHERE service_id = $1", row_id)
