"""rm_audit: the audit records as CADF documents, with the columns the audit API filters
on. An asynchronous read model: it follows a checkpointed subscription, so searching
may lag the log by a moment, and a restarted process catches up from its checkpoint.

The target's owning project is the one the record names, or else the one its stream's
first event names (service/events_api/access.py's rule); identity resources have none,
so records about them are for admins and the initiator's project only.
"""

from typing import Any

import msgspec

from events.postgres import row_to_event
from events.types import RecordedEvent
from service.audit.cadf import to_cadf, verdict
from service.audit.events import AuditRecorded, Target
from service.events_api.access import IDENTITY_TYPES, owner_project

_FIRST_EVENT = (
    "SELECT position, stream_id, version, event_id, type, schema_version, recorded_at,"
    " metadata, data FROM events WHERE stream_id = $1 AND version = 1 AND position < $2"
)


class AuditProjection:
    """One rm_audit row per AuditRecorded event."""

    name: str = "audit"
    tables: tuple[str, ...] = ("rm_audit",)
    types: frozenset[str] | None = frozenset({AuditRecorded.type_name()})

    async def apply(self, conn: Any, event: RecordedEvent) -> None:
        record = event.event
        assert isinstance(record, AuditRecorded)
        owner = record.target.project_id or await _owner(conn, record.target, event.position)
        document = to_cadf(event, record, owner)
        await conn.execute(
            "INSERT INTO rm_audit (position, id, event_time, request_id, action, verdict,"
            " status, initiator_user_id, initiator_project_id, target_type, target_id,"
            " target_project_id, document)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb)",
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
            msgspec.json.encode(document),
        )


async def _owner(conn: Any, target: Target, before: int) -> str | None:
    """The project owning the target's stream, from its first event before `before`
    (so that a rebuild or a replay finds what the live model found)."""
    if target.id is None or target.type in IDENTITY_TYPES:
        return None
    row = await conn.fetchrow(_FIRST_EVENT, f"{target.type}-{target.id}", before)
    return None if row is None else owner_project(row_to_event(row))
