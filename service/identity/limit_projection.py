"""The unified-limit read models (rm_registered_limits and rm_limits, migrations/
0011_limits.sql), kept inline: each `registeredlimit-` and `limit-<id>` stream owns one
row, folded from its events."""

from typing import Any

from events.types import Event, RecordedEvent
from projections.bulk import FoldedTable
from projections.projection import Projection
from projections.rows import Row, project_row, set_fields
from service.identity import limit_events as ev

TABLES = {"registeredlimit": "rm_registered_limits", "limit": "rm_limits"}
"""The table of each stream category's rows."""


def limit_row(row: Row | None, recorded: RecordedEvent) -> Row | None:
    """The stream's row after one of its events."""
    event = recorded.event
    key = "registered_limit_id" if recorded.category == "registeredlimit" else "limit_id"
    match event:
        case ev.RegisteredLimitCreated() | ev.LimitCreated():
            return {"id": getattr(event, key)} | set_fields(event, exclude={key})
        case ev.RegisteredLimitDeleted() | ev.LimitDeleted():
            return None
        case ev.RegisteredLimitUpdated() | ev.LimitUpdated() if row is not None:
            return row | set_fields(event, exclude={key})
    return row


class LimitsProjection:
    """Registered limits and project (or domain) limits, by id."""

    name: str = "limits"
    tables: tuple[str, ...] = tuple(TABLES.values())
    types: frozenset[str] | None = frozenset(
        cls.type_name()
        for cls in vars(ev).values()
        if isinstance(cls, type) and issubclass(cls, Event) and cls is not Event
    )
    folds: tuple[FoldedTable, ...] = tuple(
        FoldedTable(table, limit_row, frozenset({category})) for category, table in TABLES.items()
    )
    side: Projection | None = None
    reads_bodies: bool = True

    async def apply(self, conn: Any, recorded: RecordedEvent) -> None:
        table = TABLES[recorded.category]
        key = {"id": recorded.stream_id.removeprefix(f"{recorded.category}-")}
        await project_row(conn, table, key, limit_row, recorded)
