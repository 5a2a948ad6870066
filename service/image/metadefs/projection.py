"""The metadefs catalog (rm_metadef_namespaces, rm_metadef_resource_types of
migrations/0021_metadefs.sql), inline: each row follows its stream's fold
(service/image/metadefs/fold.py), so a handler that read a namespace can append with
its version expected and lose cleanly to a concurrent change."""

from typing import Any

from events.types import Event, RecordedEvent
from projections.bulk import FoldedTable
from projections.projection import Projection
from projections.rows import Evolve, project_row
from service.image.metadefs import events as ev
from service.image.metadefs import fold

_ROWS: dict[str, tuple[str, str, Evolve, tuple[str, ...]]] = {
    "metadef": ("rm_metadef_namespaces", "id", fold.namespace, fold.JSON_COLUMNS),
    "metadefrt": ("rm_metadef_resource_types", "name", fold.resource_type, ()),
}
"""By stream category: the table, its key column, the fold and its JSON columns."""


class MetadefProjection:
    """Metadata definition namespaces with their contents, and resource types."""

    name: str = "metadefs"
    tables: tuple[str, ...] = ("rm_metadef_namespaces", "rm_metadef_resource_types")
    types: frozenset[str] | None = frozenset(
        cls.type_name()
        for cls in vars(ev).values()
        if isinstance(cls, type) and issubclass(cls, Event) and cls is not Event
    )
    folds: tuple[FoldedTable, ...] = tuple(
        FoldedTable(table, evolve, frozenset({category}), json_columns)
        for category, (table, _, evolve, json_columns) in _ROWS.items()
    )
    side: Projection | None = None
    reads_bodies: bool = True

    async def apply(self, conn: Any, recorded: RecordedEvent) -> None:
        table, column, evolve, json_columns = _ROWS[recorded.category]
        key = {column: recorded.stream_id.removeprefix(f"{recorded.category}-")}
        await project_row(conn, table, key, evolve, recorded, json_columns=json_columns)
