"""What a renderer may look at besides its own stream: the public base URL, and other
streams of the log as they were at the same moment."""

import msgspec

from events.postgres import PostgresEventStore
from projections.rows import Evolve, Row, fold
from service.events_api.moment import Moment
from service.events_api.related import streams_where


class Scene(msgspec.Struct, frozen=True):
    """The moment a resource is rebuilt at, and where from."""

    base_url: str
    store: PostgresEventStore
    moment: Moment

    async def related_rows(self, evolve: Evolve, where: str, *args: object) -> list[Row]:
        """The rows that `evolve` folds the streams `streams_where` finds into, at this
        moment; absent ones left out."""
        found = await streams_where(self.store, self.moment, where, *args)
        rows = [fold(evolve, events) for events in found]
        return [row for row in rows if row is not None]
