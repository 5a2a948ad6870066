"""rm_audit: the columns the audit API searches, one row per audit record. An
asynchronous read model: it follows a checkpointed subscription, so searching may lag
the log by a moment, and a restarted process catches up from its checkpoint. The CADF
documents are not kept here: the API renders them from the records' events (migration
0018), with the target's owner this table holds.

The target's owning project is the one the record names, or else the one its stream's
first event names (service/events_api/access.py's rule); identity resources have none,
so records about them are for admins and the initiator's project only.
"""

from typing import Any

from events.postgres import Connection, row_to_event
from events.types import RecordedEvent
from projections.bulk import until_clause
from service.audit.cadf import verdict
from service.audit.events import AuditRecorded, Target
from service.events_api.access import IDENTITY_TYPES, owner_project

_FIRST_EVENT = (
    "SELECT position, stream_id, version, event_id, type, schema_version, recorded_at,"
    " metadata, data FROM events WHERE stream_id = $1 AND version = 1 AND position < $2"
)
_INSERT = (
    "INSERT INTO rm_audit (position, id, event_time, request_id, action, verdict, status,"
    " initiator_user_id, initiator_project_id, target_type, target_id, target_project_id)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
)
_REBUILD = """
INSERT INTO rm_audit (position, id, event_time, request_id, action, verdict, status,
                      initiator_user_id, initiator_project_id, target_type, target_id,
                      target_project_id)
SELECT e.position, e.event_id, e.recorded_at, e.metadata->>'request_id', r.action,
       CASE WHEN r.status IN (401, 403) AND r.action <> 'authenticate' THEN 'denied'
            WHEN r.status = 499 THEN 'unknown'
            WHEN r.status >= 400 THEN 'failure'
            WHEN r.status = 202 THEN 'pending'
            ELSE 'success' END,
       r.status, r.initiator->>'user_id', r.initiator->>'project_id', r.target->>'type',
       r.target->>'id',
       coalesce(nullif(r.target->>'project_id', ''), CASE
           WHEN r.target->>'id' IS NOT NULL AND r.target->>'type' <> ALL($1::text[]) THEN
               (SELECT coalesce(nullif(f.data->>'project_id', ''), nullif(f.data->>'owner', ''),
                                f.metadata->'actor'->>'project_id')
                  FROM events f
                 WHERE f.stream_id = (r.target->>'type') || '-' || (r.target->>'id')
                   AND f.version = 1 AND f.position < e.position)
       END)
  FROM events e
 CROSS JOIN LATERAL jsonb_to_record(e.data) AS r(action text, status int, initiator jsonb,
                                                 target jsonb)
 WHERE e.type = 'AuditRecorded' AND {until}
"""
"""Every record's row from its event, as `apply` makes it (`verdict`, `owner_project` of
the target stream's first event before the record): one statement, no event decoded."""


class AuditProjection:
    """One rm_audit row per AuditRecorded event."""

    name: str = "audit"
    tables: tuple[str, ...] = ("rm_audit",)
    types: frozenset[str] | None = frozenset({AuditRecorded.type_name()})

    async def apply(self, conn: Any, event: RecordedEvent) -> None:
        record = event.event
        assert isinstance(record, AuditRecorded)
        owner = record.target.project_id or await _owner(conn, record.target, event.position)
        await conn.execute(_INSERT, *audit_row(event, record, owner))

    async def rebuild_rows(self, conn: Connection, until: int | None) -> int:
        where, params = until_clause(until, first=2)
        status: str = await conn.execute(
            _REBUILD.format(until=where), sorted(IDENTITY_TYPES), *params
        )
        return int(status.rpartition(" ")[2])


def audit_row(event: RecordedEvent, record: AuditRecorded, owner: str | None) -> tuple[Any, ...]:
    """rm_audit's columns for a record whose target is owned by `owner`, in table order."""
    return (
        event.position,
        event.event_id,
        event.recorded_at,
        event.metadata.request_id,
        record.action,
        verdict(record.action, record.status),
        record.status,
        record.initiator.user_id,
        record.initiator.project_id,
        record.target.type,
        record.target.id,
        owner,
    )


def _target_stream(target: Target) -> str | None:
    """The stream whose first event names the target's owner (None: it has none)."""
    if target.id is None or target.type in IDENTITY_TYPES:
        return None
    return f"{target.type}-{target.id}"


async def _owner(conn: Any, target: Target, before: int) -> str | None:
    """The project owning the target's stream, from its first event before `before`
    (so that a rebuild or a replay finds what the live model found)."""
    stream = _target_stream(target)
    if stream is None:
        return None
    row = await conn.fetchrow(_FIRST_EVENT, stream, before)
    return None if row is None else owner_project(row_to_event(row))
