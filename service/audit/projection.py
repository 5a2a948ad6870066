"""rm_audit: the audit records as CADF documents, with the columns the audit API filters
on. An asynchronous read model: it follows a checkpointed subscription, so searching
may lag the log by a moment, and a restarted process catches up from its checkpoint.

The target's owning project is the one the record names, or else the one its stream's
first event names (service/events_api/access.py's rule); identity resources have none,
so records about them are for admins and the initiator's project only.
"""

import asyncio
from collections import OrderedDict
from typing import Any

import msgspec

from events.postgres import Connection, first_events, row_to_event
from events.types import Metadata, RecordedEvent
from projections.bulk import PREFETCH, until_clause
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
        await conn.execute(
            "INSERT INTO rm_audit (position, id, event_time, request_id, action, verdict,"
            " status, initiator_user_id, initiator_project_id, target_type, target_id,"
            " target_project_id, document)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb)",
            *audit_row(event, record, owner),
        )

    async def rebuild_rows(self, conn: Connection, until: int | None) -> int:
        return await rebuild_audit(conn, until)


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
        msgspec.json.encode(to_cadf(event, record, owner)),
    )


_RECORDS = (
    "SELECT position, stream_id, version, event_id, type, schema_version, recorded_at,"
    " metadata->>'request_id', data, data->'target'->>'type', data->'target'->>'id',"
    " data->'target'->>'project_id'"
    " FROM events WHERE type = 'AuditRecorded' AND {until} ORDER BY position"
)
"""The records in log order: of the metadata, only the request id (all a row takes from
it); the target's fields once more, so that the owners a batch needs are known before it
is decoded."""
_COLUMNS = (
    "position", "id", "event_time", "request_id", "action", "verdict", "status",
    "initiator_user_id", "initiator_project_id", "target_type", "target_id",
    "target_project_id", "document",
)  # fmt: skip
_SLICE = 500
"""Records built between two turns of the event loop, which let the batch being copied
meanwhile go on out to the server."""


async def rebuild_audit(conn: Connection, until: int | None) -> int:
    """rm_audit (empty) from the records up to `until`, in log order, a cursor batch at a
    time: the owners a batch's targets need are read in one query (and remembered for
    the next few batches), its rows are built while the batch before is being copied,
    so that the server stores one batch while this process decodes the next. The number
    of records read."""
    where, params = until_clause(until)
    owners = _Owners(conn)
    cursor = await conn.cursor(_RECORDS.format(until=where), *params)
    batch = await cursor.fetch(PREFETCH)
    copied: list[tuple[Any, ...]] = []
    read = 0
    while batch:
        await owners.load(
            {s for *_, type_, id_, project in batch if not project and (s := _stream(type_, id_))}
        )
        following = await cursor.fetch(PREFETCH)
        copying = asyncio.create_task(_copy(conn, copied))
        try:
            copied = await _rows(batch, owners)
        finally:
            await copying
        read += len(batch)
        batch = following
    await _copy(conn, copied)
    return read


async def _copy(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    if rows:
        await conn.copy_records_to_table("rm_audit", records=rows, columns=_COLUMNS)


async def _rows(batch: list[Any], owners: "_Owners") -> list[tuple[Any, ...]]:
    """rm_audit's rows of a batch of records, `_SLICE` at a time between turns of the loop."""
    rows = []
    for start in range(0, len(batch), _SLICE):
        await asyncio.sleep(0)
        for row in batch[start : start + _SLICE]:
            event = _recorded(row)
            record = event.event
            assert isinstance(record, AuditRecorded)
            owner = record.target.project_id or owners.of(
                _target_stream(record.target), event.position
            )
            rows.append(audit_row(event, record, owner))
    return rows


def _recorded(row: Any) -> RecordedEvent:
    """A record read by `_RECORDS`, with the request id as its only metadata."""
    return row_to_event(row, Metadata(request_id=row[7]))


class _Owners:
    """The owner projects of target streams, and where their first events are: read a
    batch at a time; those a batch needs, and the latest others up to `kept`, remembered."""

    def __init__(self, conn: Connection, kept: int = 4096) -> None:
        self._conn = conn
        self._kept = kept
        self._known: OrderedDict[str, tuple[int, str | None] | None] = OrderedDict()

    async def load(self, streams: set[str]) -> None:
        """Know the owners of `streams` (a batch's) until the next call."""
        for stream in streams & self._known.keys():
            self._known.move_to_end(stream)
        wanted = [s for s in streams if s not in self._known]
        while len(self._known) + len(wanted) > self._kept and self._known:
            if next(iter(self._known)) in streams:
                break  # only this batch's own are left
            self._known.popitem(last=False)
        self._known.update(dict.fromkeys(wanted))
        if wanted:
            for first in await first_events(self._conn, wanted):
                self._known[first.stream_id] = (first.position, owner_project(first))

    def of(self, stream: str | None, before: int) -> str | None:
        """The owner `_owner` finds for a record at position `before`."""
        first = None if stream is None else self._known.get(stream)
        return None if first is None or first[0] >= before else first[1]


def _target_stream(target: Target) -> str | None:
    """The stream whose first event names the target's owner (None: it has none)."""
    return _stream(target.type, target.id)


def _stream(target_type: str, target_id: str | None) -> str | None:
    if target_id is None or target_type in IDENTITY_TYPES:
        return None
    return f"{target_type}-{target_id}"


async def _owner(conn: Any, target: Target, before: int) -> str | None:
    """The project owning the target's stream, from its first event before `before`
    (so that a rebuild or a replay finds what the live model found)."""
    stream = _target_stream(target)
    if stream is None:
        return None
    row = await conn.fetchrow(_FIRST_EVENT, stream, before)
    return None if row is None else owner_project(row_to_event(row))
