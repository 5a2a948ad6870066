"""The identity read models (rm_* tables of migrations/0003_identity.sql), kept inline;
each resource's own row by its stream's fold (service/identity/fold.py)."""

from typing import Any

import msgspec

from events.types import Event, RecordedEvent
from projections.bulk import FoldedTable
from projections.projection import Projection
from projections.rows import project_row
from service.identity import events as ev
from service.identity import rebuild
from service.identity.fold import JSON_COLUMNS, TABLES, identity_row

_TYPES = frozenset(
    cls.type_name()
    for cls in vars(ev).values()
    if isinstance(cls, type) and issubclass(cls, Event) and cls is not Event
)


class IdentitySide:
    """What identity keeps besides the rows its streams own: logins on users' rows,
    password history, memberships, implied roles, grants, application credentials and
    revocations."""

    name: str = "identity_side"
    tables: tuple[str, ...] = (
        "rm_users", "rm_password_history", "rm_group_members", "rm_implied_roles",
        "rm_role_assignments", "rm_application_credentials", "rm_token_revocations",
        "rm_project_endpoints", "rm_project_endpoint_groups", "rm_access_rules",
    )  # fmt: skip
    types: frozenset[str] | None = _TYPES

    async def apply(self, conn: Any, recorded: RecordedEvent) -> None:
        at = recorded.recorded_at
        match recorded.event:
            case ev.UserCreated() as e:
                if e.password_hash is not None:
                    await _remember_password(conn, recorded, e.user_id, e.password_hash)
            case ev.UserPasswordChanged() as e:
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
            case ev.ApplicationCredentialCreated() as e:
                await conn.execute(
                    "INSERT INTO rm_application_credentials (id, user_id, project_id, name,"
                    " description, secret_hash, role_ids, expires_at, unrestricted, created_at,"
                    " access_rules) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                    e.application_credential_id, e.user_id, e.project_id, e.name, e.description,
                    e.secret_hash, list(e.role_ids), e.expires_at, e.unrestricted, at,
                    msgspec.json.encode(e.access_rules),
                )  # fmt: skip
                for rule in e.access_rules:
                    await conn.execute(
                        "INSERT INTO rm_access_rules VALUES ($1, $2, $3, $4, $5)"
                        " ON CONFLICT DO NOTHING",
                        rule.id, e.user_id, rule.service, rule.method, rule.path,
                    )  # fmt: skip
            case ev.AccessRuleDeleted() as e:
                await conn.execute(
                    "DELETE FROM rm_access_rules WHERE id = $1 AND user_id = $2",
                    e.access_rule_id,
                    e.user_id,
                )
            case ev.ApplicationCredentialDeleted() as e:
                await conn.execute(
                    "DELETE FROM rm_application_credentials WHERE id = $1",
                    e.application_credential_id,
                )
            case ev.EndpointGivenToProject() as e:
                await conn.execute(
                    "INSERT INTO rm_project_endpoints VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    e.project_id,
                    e.endpoint_id,
                )
            case ev.EndpointTakenFromProject() as e:
                await conn.execute(
                    "DELETE FROM rm_project_endpoints WHERE project_id = $1 AND endpoint_id = $2",
                    e.project_id,
                    e.endpoint_id,
                )
            case ev.EndpointGroupGivenToProject() as e:
                await conn.execute(
                    "INSERT INTO rm_project_endpoint_groups VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    e.project_id,
                    e.endpoint_group_id,
                )
            case ev.EndpointGroupTakenFromProject() as e:
                await conn.execute(
                    "DELETE FROM rm_project_endpoint_groups"
                    " WHERE project_id = $1 AND endpoint_group_id = $2",
                    e.project_id,
                    e.endpoint_group_id,
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
                | ev.EndpointDeleted()
                | ev.EndpointGroupDeleted() as e
            ):
                await _delete(conn, e)


_SIDE = IdentitySide()


class IdentityProjection:
    """Domains, projects, users, groups, roles, assignments, catalog, credentials, revocations."""

    name: str = "identity"
    tables: tuple[str, ...] = (
        "rm_domains", "rm_projects", "rm_users", "rm_password_history", "rm_groups",
        "rm_group_members", "rm_roles", "rm_implied_roles", "rm_role_assignments", "rm_regions",
        "rm_services", "rm_endpoints", "rm_application_credentials", "rm_token_revocations",
        "rm_credentials", "rm_policies", "rm_endpoint_groups", "rm_project_endpoints",
        "rm_project_endpoint_groups", "rm_access_rules", "rm_trusts", "rm_consumers",
        "rm_request_tokens", "rm_access_tokens",
    )  # fmt: skip
    types: frozenset[str] | None = _TYPES
    folds: tuple[FoldedTable, ...] = tuple(
        FoldedTable(table, identity_row, frozenset({category}), JSON_COLUMNS)
        for category, table in TABLES.items()
    )
    side: Projection | None = rebuild.side(_SIDE)
    reads_bodies: bool = True

    async def apply(self, conn: Any, recorded: RecordedEvent) -> None:
        table = TABLES.get(recorded.category)
        if table is not None:
            key = {"id": recorded.stream_id.removeprefix(f"{recorded.category}-")}
            await project_row(conn, table, key, identity_row, recorded, json_columns=JSON_COLUMNS)
        await _SIDE.apply(conn, recorded)


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
    """Remove whatever hangs on a deleted resource (its row goes by its fold)."""
    key = next(f for f in event.__struct_fields__ if f.endswith("_id"))
    row_id = getattr(event, key)
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
                await conn.execute("DELETE FROM rm_credentials WHERE project_id = $1", row_id)
                await conn.execute("DELETE FROM rm_trusts WHERE project_id = $1", row_id)
                for table in ("rm_request_tokens", "rm_access_tokens"):
                    await conn.execute(f"DELETE FROM {table} WHERE project_id = $1", row_id)
                for table in ("rm_project_endpoints", "rm_project_endpoint_groups"):
                    await conn.execute(f"DELETE FROM {table} WHERE project_id = $1", row_id)
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
                await conn.execute("DELETE FROM rm_credentials WHERE user_id = $1", row_id)
                await conn.execute("DELETE FROM rm_access_rules WHERE user_id = $1", row_id)
                await conn.execute(
                    "DELETE FROM rm_trusts WHERE trustor_user_id = $1 OR trustee_user_id = $1",
                    row_id,
                )
                for table in ("rm_request_tokens", "rm_access_tokens"):
                    await conn.execute(
                        f"DELETE FROM {table} WHERE authorizing_user_id = $1", row_id
                    )
        case "role_id":
            await conn.execute("DELETE FROM rm_role_assignments WHERE role_id = $1", row_id)
            await conn.execute(
                "DELETE FROM rm_implied_roles WHERE prior_role_id = $1 OR implied_role_id = $1",
                row_id,
            )
        case "service_id":
            await conn.execute("DELETE FROM rm_endpoints WHERE service_id = $1", row_id)
        case "endpoint_id":
            await conn.execute("DELETE FROM rm_project_endpoints WHERE endpoint_id = $1", row_id)
        case "endpoint_group_id":
            await conn.execute(
                "DELETE FROM rm_project_endpoint_groups WHERE endpoint_group_id = $1", row_id
            )
