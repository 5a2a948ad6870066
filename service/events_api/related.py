"""Streams found by what their events say, read as they were at a moment: the other
resources a rebuilt document mentions (a container's objects) and the resources usage
is counted over (a project's servers)."""

from events.postgres import PostgresEventStore
from events.types import RecordedEvent
from service.events_api.moment import Moment, until


async def streams_where(
    store: PostgresEventStore, moment: Moment, where: str, *args: object
) -> list[list[RecordedEvent]]:
    """The events, up to `moment`, of each stream with an event matching `where` (SQL
    over the events table, with `args`), by stream id; streams with none then are left
    out. `where` comes from code, never from users."""
    rows = await store.pool.fetch(
        f"SELECT DISTINCT stream_id FROM events WHERE {where} ORDER BY stream_id", *args
    )
    found = []
    for row in rows:
        events = until(await store.read_stream(row["stream_id"]), moment)
        if events:
            found.append(events)
    return found
