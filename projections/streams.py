"""rm_streams: one row per stream, where it stands; the index for browsing the log."""

from typing import Any

from events.types import RecordedEvent


class Streams:
    """Every stream's category, version, first and last position, last event type and times."""

    name: str = "streams"
    tables: tuple[str, ...] = ("rm_streams",)
    types: frozenset[str] | None = None

    async def apply(self, conn: Any, event: RecordedEvent) -> None:
        await conn.execute(
            "INSERT INTO rm_streams (stream_id, category, version, first_position, last_position,"
            " last_type, created_at, updated_at) VALUES ($1, $2, $3, $4, $4, $5, $6, $6)"
            " ON CONFLICT (stream_id) DO UPDATE SET version = $3, last_position = $4,"
            " last_type = $5, updated_at = $6",
            event.stream_id,
            event.category,
            event.version,
            event.position,
            event.type,
            event.recorded_at,
        )
