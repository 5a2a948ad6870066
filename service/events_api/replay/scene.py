"""What a renderer may look at besides its own stream: the public base URL, and other
streams of the log as they were at the same moment."""

import msgspec

from events.postgres import PostgresEventStore
from events.types import RecordedEvent
from projections.rows import Evolve, Row, fold
from service.events_api.moment import Moment, until


class Scene(msgspec.Struct, frozen=True):
    """The moment a resource is rebuilt at, and where from."""

    base_url: str
    store: PostgresEventStore
    moment: Moment

    async def related(self, where: str, *args: object) -> list[list[RecordedEvent]]:
        """The events, up to this moment, of each stream with an event matching `where`
        (SQL over the events table, with `args`); streams with none then are left out."""
        rows = await self.store.pool.fetch(
            f"SELECT DISTINCT stream_id FROM events WHERE {where}", *args
        )
        found = []
        for row in rows:
            events = until(await self.store.read_stream(row["stream_id"]), self.moment)
            if events:
                found.append(events)
        return found

    async def related_rows(self, evolve: Evolve, where: str, *args: object) -> list[Row]:
        """The rows that `evolve` folds the streams `related` finds into, at this moment;
        absent ones left out."""
        rows = [fold(evolve, events) for events in await self.related(where, *args)]
        return [row for row in rows if row is not None]
