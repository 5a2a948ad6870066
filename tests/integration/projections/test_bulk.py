"""Rebuilding a model without replaying it event by event (projections/bulk.py) gives the
rows its inline application gave, over a log whose streams interleave, with more rows
than one COPY batch and more events than one cursor batch: a `Folded` model (one row
per stream in one table, several per stream in another), and rm_streams, `Rebuilt` by
one statement. A model's foreign keys among its own tables hold after a rebuild, which
fails as a whole when its rows break one."""

import random
from typing import Any

import asyncpg
import pytest

from events.postgres import PostgresEventStore
from events.store import StreamAppend
from events.types import RecordedEvent
from projections import bulk
from projections.bulk import Folded, FoldedTable, Rebuilt
from projections.inline import InlineProjections
from projections.projection import Projection
from projections.rows import Row
from projections.runner import rebuild
from projections.streams import Streams, stream_row
from tests.sample_events import Noted, Renamed

NOTES = """
CREATE TABLE rm_notes (
    stream_id text NOT NULL,
    n integer NOT NULL,
    text text NOT NULL,
    position bigint NOT NULL,
    PRIMARY KEY (stream_id, n)
);
CREATE INDEX rm_notes_position_idx ON rm_notes (position)
"""


def notes(state: Row | None, event: RecordedEvent) -> Row:
    """A stream's notes by number (the latest of each number), none once it is renamed."""
    state = {} if state is None else state
    match event.event:
        case Noted(n=n, text=text):
            state[str(n)] = {"stream_id": event.stream_id, "n": n, "text": text,
                             "position": event.position}  # fmt: skip
        case Renamed():
            state.clear()
    return state


def _notes_of(state: Row) -> list[Row]:
    return list(state.values())


class StreamsAndNotes:
    """rm_streams by its fold, and rm_notes: what `notes` folds, written one by one live."""

    name = "streams_and_notes"
    tables = ("rm_streams", "rm_notes")
    types = None
    folds = (
        FoldedTable("rm_streams", stream_row),
        FoldedTable("rm_notes", notes, rows_of=_notes_of),
    )
    side: Projection | None = None
    reads_bodies = True

    async def apply(self, conn: Any, event: RecordedEvent) -> None:
        await Streams().apply(conn, event)
        match event.event:
            case Noted(n=n, text=text):
                await conn.execute(
                    "INSERT INTO rm_notes VALUES ($1, $2, $3, $4) ON CONFLICT (stream_id, n)"
                    " DO UPDATE SET text = $3, position = $4",
                    event.stream_id, n, text, event.position,
                )  # fmt: skip
            case Renamed():
                await conn.execute("DELETE FROM rm_notes WHERE stream_id = $1", event.stream_id)


async def interleaved_log(live: PostgresEventStore) -> int:
    """Streams whose events are spread across the log, between other streams' events;
    the number of events."""
    streams = bulk.FLUSH + 1500
    rng = random.Random(7)
    for first in range(0, streams, 500):
        appends = [
            StreamAppend(
                f"{rng.choice(['note', 'memo', 'ünï'])}-{(first + i * 7) % streams}",
                [Noted(n=i % 5, text="✓" * (i % 3)) if i % 4 else Renamed(name=f"r{i}")]
                * rng.randint(1, 3),
            )
            for i in range(500)
        ]
        await live.append_streams(appends)
    await live.append_streams([StreamAppend("note-0", [Renamed(name="last")])])
    events = await live.head_position()
    assert events > bulk.PREFETCH
    return events


@pytest.mark.parametrize("model", [StreamsAndNotes(), Streams()], ids=["folded", "rebuilt"])
async def test_a_bulk_rebuild_matches_the_live_rows_row_for_row(
    store: PostgresEventStore, model: Projection
) -> None:
    assert isinstance(model, Folded | Rebuilt)
    await store.pool.execute(NOTES)
    live = PostgresEventStore(store.pool, inline=InlineProjections([model]))
    events = await interleaved_log(live)
    before = {t: await table(store, t) for t in model.tables}
    assert len(before["rm_streams"]) > bulk.FLUSH

    assert await rebuild(live, model, inline=True) == events
    assert {t: await table(store, t) for t in model.tables} == before
    indexes = await store.pool.fetchval(
        "SELECT count(*) FROM pg_indexes WHERE tablename = $1", "rm_notes"
    )
    assert indexes == 2  # built again after the rows were written
    keys = "SELECT count(*) FROM pg_constraint WHERE conname = 'rm_streams_pkey'"
    assert await store.pool.fetchval(keys) == 1  # a `Rebuilt` model's too


async def table(store: PostgresEventStore, name: str) -> list[tuple[object, ...]]:
    return [tuple(r) for r in await store.pool.fetch(f"SELECT * FROM {name} ORDER BY 1, 2")]


def _no_memos(row: Row | None, event: RecordedEvent) -> Row | None:
    """rm_streams' fold, but without the rows of `memo-` streams."""
    return None if event.category == "memo" else stream_row(row, event)


class NotesWithoutMemoStreams(StreamsAndNotes):
    folds = (FoldedTable("rm_streams", _no_memos), StreamsAndNotes.folds[1])


async def test_a_models_foreign_keys_hold_after_its_rebuild_or_it_fails_whole(
    store: PostgresEventStore,
) -> None:
    await store.pool.execute(NOTES)
    await store.pool.execute(
        "ALTER TABLE rm_notes ADD CONSTRAINT rm_notes_stream_fkey"
        " FOREIGN KEY (stream_id) REFERENCES rm_streams (stream_id)"
    )
    model = StreamsAndNotes()
    live = PostgresEventStore(store.pool, inline=InlineProjections([model]))
    events = await interleaved_log(live)
    before = {t: await table(store, t) for t in model.tables}

    # Checked once the rows are in, not row by row: still there afterwards.
    assert await rebuild(live, model, inline=True) == events
    assert {t: await table(store, t) for t in model.tables} == before
    keys = "SELECT count(*) FROM pg_constraint WHERE conname = 'rm_notes_stream_fkey'"
    assert await store.pool.fetchval(keys) == 1

    # Notes of streams without their rm_streams row: the rebuild fails, nothing changes.
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await rebuild(live, NotesWithoutMemoStreams(), inline=True)
    assert {t: await table(store, t) for t in model.tables} == before
    assert await store.pool.fetchval(keys) == 1
