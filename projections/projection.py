"""The Projection seam: a read model that folds events into tables."""

from typing import Any, Protocol

from events.types import RecordedEvent


class Projection(Protocol):
    """A read model kept in its own `rm_*` tables.

    `apply` must use unqualified table names (the search path picks the schema,
    which is how replays into a scratch schema work) and must be deterministic:
    a rebuild from the log gives the same rows as the live model.
    """

    name: str
    tables: tuple[str, ...]
    types: frozenset[str] | None
    """The event types it reads; None for all."""

    async def apply(self, conn: Any, event: RecordedEvent) -> None:
        """Fold one event into the tables, inside the caller's transaction."""
        ...


def handles(projection: Projection, event: RecordedEvent) -> bool:
    """Whether `projection` reads events of this type."""
    return projection.types is None or event.type in projection.types
