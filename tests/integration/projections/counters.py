"""A sample read model for the projection tests: notes per stream, and the last name."""

from typing import Any

from events.types import RecordedEvent
from tests.sample_events import Noted, Renamed

SCHEMA = """
CREATE TABLE rm_note_counts (
    stream_id text PRIMARY KEY,
    notes integer NOT NULL,
    total bigint NOT NULL,
    last_name text,
    version bigint NOT NULL
)
"""


class NoteCounts:
    """Per stream: how many notes, their sum, the latest name and version."""

    name = "note_counts"
    tables = ("rm_note_counts",)
    types = frozenset({"Noted", "Renamed"})

    async def apply(self, conn: Any, event: RecordedEvent) -> None:
        match event.event:
            case Noted(n=n):
                await conn.execute(
                    "INSERT INTO rm_note_counts (stream_id, notes, total, version)"
                    " VALUES ($1, 1, $2, $3) ON CONFLICT (stream_id) DO UPDATE"
                    " SET notes = rm_note_counts.notes + 1, total = rm_note_counts.total + $2,"
                    " version = $3",
                    event.stream_id, n, event.version,
                )  # fmt: skip
            case Renamed(name=name):
                await conn.execute(
                    "INSERT INTO rm_note_counts (stream_id, notes, total, last_name, version)"
                    " VALUES ($1, 0, 0, $2, $3) ON CONFLICT (stream_id) DO UPDATE"
                    " SET last_name = $2, version = $3",
                    event.stream_id, name, event.version,
                )  # fmt: skip
