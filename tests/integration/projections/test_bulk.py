"""Rebuilding a `Folded` model stream by stream (projections/bulk.py) gives the rows its
inline application gave, over a log whose streams interleave, with more rows than one
COPY batch and more events than one cursor batch."""

import random

from events.postgres import PostgresEventStore
from events.store import StreamAppend
from projections import bulk
from projections.bulk import Folded
from projections.inline import InlineProjections
from projections.runner import rebuild
from projections.streams import Streams
from tests.sample_events import Noted, Renamed

ROWS = "SELECT * FROM rm_streams ORDER BY stream_id"


async def test_a_folded_rebuild_matches_the_live_rows_row_for_row(
    store: PostgresEventStore,
) -> None:
    model = Streams()
    assert isinstance(model, Folded)
    live = PostgresEventStore(store.pool, inline=InlineProjections([model]))
    streams = bulk.FLUSH + 1500
    rng = random.Random(7)
    for first in range(0, streams, 500):
        # Each append touches 500 streams, some twice over later appends: every stream's
        # events are spread across the log, between other streams' events.
        appends = [
            StreamAppend(
                f"{rng.choice(['note', 'memo', 'ünï'])}-{(first + i * 7) % streams}",
                [Noted(n=i, text="✓" * (i % 3)) if i % 4 else Renamed(name=f"r{i}")]
                * rng.randint(1, 3),
            )
            for i in range(500)
        ]
        await live.append_streams(appends)
    await live.append_streams([StreamAppend("note-0", [Renamed(name="last")])])
    events = await store.head_position()
    assert events > bulk.PREFETCH
    before = [tuple(r) for r in await store.pool.fetch(ROWS)]
    assert len(before) > bulk.FLUSH

    assert await rebuild(live, model, inline=True) == events
    assert [tuple(r) for r in await store.pool.fetch(ROWS)] == before
