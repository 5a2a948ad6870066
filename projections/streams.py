"""rm_streams: one row per stream, where it stands; the index for browsing the log."""

from typing import Any

from events.postgres import Connection
from events.types import RecordedEvent
from projections.bulk import until_clause
from projections.rows import Row

_UPSERT = (
    "INSERT INTO rm_streams (stream_id, category, first_position, created_at, version,"
    " last_position, last_type, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    " ON CONFLICT (stream_id) DO UPDATE SET version = $5, last_position = $6,"
    " last_type = $7, updated_at = $8"
)
_REBUILD = """
WITH rows AS (
    INSERT INTO rm_streams (stream_id, category, first_position, created_at, version,
                            last_position, last_type, updated_at)
    SELECT stream_id, category, first_position, created_at, version, position, type,
           recorded_at
      FROM (SELECT stream_id, category, version, position, type, recorded_at,
                   first_value(position) OVER stream AS first_position,
                   first_value(recorded_at) OVER stream AS created_at,
                   lead(version) OVER stream AS following
              FROM events WHERE {until}
            WINDOW stream AS (PARTITION BY stream_id ORDER BY version)) events
     WHERE following IS NULL
    RETURNING version
)
SELECT coalesce(sum(version), 0) FROM rows
"""
"""Each stream's row from its first and last events (`stream_row` folded over them):
one statement, no event decoded. Each stream's last event, the one no later version
follows, carries its first event's position and time from the head of its window
(whose frame ends at the current row: nothing past it is buffered). A stream's events
up to a position are its first versions, so the versions of the rows add up to the
events read."""


def stream_row(row: Row | None, event: RecordedEvent) -> Row:
    """The stream's row after one more of its events: where it began, where it stands."""
    began = row or {
        "stream_id": event.stream_id,
        "category": event.category,
        "first_position": event.position,
        "created_at": event.recorded_at,
    }
    return began | {
        "version": event.version,
        "last_position": event.position,
        "last_type": event.type,
        "updated_at": event.recorded_at,
    }


class Streams:
    """Every stream's category, version, first and last position, last event type and times."""

    name: str = "streams"
    tables: tuple[str, ...] = ("rm_streams",)
    types: frozenset[str] | None = None

    async def apply(self, conn: Any, event: RecordedEvent) -> None:
        # One statement whatever the row held: the first event's row, or its last half.
        await conn.execute(_UPSERT, *stream_row(None, event).values())

    async def rebuild_rows(self, conn: Connection, until: int | None) -> int:
        where, params = until_clause(until)
        read: int = await conn.fetchval(_REBUILD.format(until=where), *params)
        return read
