"""Inline projections: applied in the append's own transaction (read-your-writes)."""

from collections.abc import Sequence
from typing import Any

from events.types import RecordedEvent
from projections.projection import Projection, handles


class InlineProjections:
    """The store's inline hook: every projection, for every event it handles, in order."""

    def __init__(self, projections: Sequence[Projection]) -> None:
        self.projections = tuple(projections)
        wanted = [p.types for p in self.projections]
        self.types: frozenset[str] | None = (
            None if any(t is None for t in wanted) else frozenset().union(*filter(None, wanted))
        )

    async def __call__(self, conn: Any, events: Sequence[RecordedEvent]) -> None:
        for event in events:
            for projection in self.projections:
                if handles(projection, event):
                    await projection.apply(conn, event)
