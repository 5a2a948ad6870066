"""The identity rows each stream owns, as pure folds (projections/rows.py): the row of
`domain-`, `project-`, `user-`, `group-`, `role-`, `region-`, `service-`, `endpoint-`,
`credential-`, `policy-`, `endpoint_group-`, `trust-`, `consumer-`, `request_token-` and
`access_token-<id>` in its rm_* table. The
inline projection writes them; time travel rebuilds them from the stream alone.

A user's row also counts failed logins and its last activity; those come from its
`login-<user id>` stream, which the projection applies with SQL of its own.
"""

from typing import Any

from events.types import RecordedEvent
from projections.rows import Row, set_fields
from service.identity import events as ev

TABLES = {
    "domain": "rm_domains",
    "project": "rm_projects",
    "user": "rm_users",
    "group": "rm_groups",
    "role": "rm_roles",
    "region": "rm_regions",
    "service": "rm_services",
    "endpoint": "rm_endpoints",
    "credential": "rm_credentials",
    "policy": "rm_policies",
    "endpoint_group": "rm_endpoint_groups",
    "trust": "rm_trusts",
    "consumer": "rm_consumers",
    "request_token": "rm_request_tokens",
    "access_token": "rm_access_tokens",
}
"""The table of each stream category's rows."""
JSON_COLUMNS = ("extra", "options", "filters", "access_rules")
_UNTIMED = {"region", "service", "endpoint", "policy", "endpoint_group"}
"""Categories whose tables keep no creation time."""
_CREATED = (
    ev.DomainCreated, ev.ProjectCreated, ev.UserCreated, ev.GroupCreated, ev.RoleCreated,
    ev.RegionCreated, ev.ServiceCreated, ev.EndpointCreated, ev.CredentialCreated,
    ev.PolicyCreated, ev.EndpointGroupCreated, ev.TrustCreated, ev.ConsumerCreated,
    ev.RequestTokenCreated, ev.AccessTokenCreated,
)  # fmt: skip
_UPDATED = (
    ev.DomainUpdated, ev.ProjectUpdated, ev.UserUpdated, ev.GroupUpdated, ev.RoleUpdated,
    ev.RegionUpdated, ev.ServiceUpdated, ev.EndpointUpdated, ev.CredentialUpdated,
    ev.PolicyUpdated, ev.EndpointGroupUpdated, ev.ConsumerUpdated, ev.RequestTokenAuthorized,
)  # fmt: skip
_DELETED = (
    ev.DomainDeleted, ev.ProjectDeleted, ev.UserDeleted, ev.GroupDeleted, ev.RoleDeleted,
    ev.RegionDeleted, ev.ServiceDeleted, ev.EndpointDeleted, ev.CredentialDeleted,
    ev.PolicyDeleted, ev.EndpointGroupDeleted, ev.TrustDeleted, ev.ConsumerDeleted,
    ev.RequestTokenDeleted, ev.AccessTokenDeleted,
)  # fmt: skip


def _attributes(event: Any, recorded: RecordedEvent) -> Row:
    """The event's attributes as columns: its `<category>_id` field is the row's key."""
    fields = set_fields(event, exclude={f"{recorded.category}_id"})
    return {k: list(v) if isinstance(v, tuple) else v for k, v in fields.items()}


def _created(recorded: RecordedEvent) -> Row:
    at = recorded.recorded_at
    row: Row = {"id": recorded.stream_id.removeprefix(f"{recorded.category}-")}
    row |= _attributes(recorded.event, recorded)
    if recorded.category not in _UNTIMED:
        row["created_at"] = at
    if isinstance(recorded.event, ev.UserCreated):
        row |= {
            "password_created_at": at,
            "password_changed_at": None,
            "failed_auth_count": 0,
            "last_failed_auth_at": None,
            "last_active_at": None,
        }
    return row


def identity_row(row: Row | None, recorded: RecordedEvent) -> Row | None:
    """The row of the stream's resource after one of its events (grants, memberships
    and other events that change no column of it leave it as it was)."""
    event = recorded.event
    if isinstance(event, _CREATED):
        return _created(recorded)
    if row is None or isinstance(event, _DELETED):
        return None
    if isinstance(event, _UPDATED):
        return row | _attributes(event, recorded)
    if isinstance(event, ev.TrustUsed) and row["remaining_uses"] is not None:
        return row | {"remaining_uses": row["remaining_uses"] - 1}
    if isinstance(event, ev.UserPasswordChanged):
        at = recorded.recorded_at
        return row | {
            "password_hash": event.password_hash,
            "password_created_at": at,
            "password_expires_at": event.expires_at,
            "password_changed_at": at if event.self_service else None,
            "failed_auth_count": 0,
        }
    return row
