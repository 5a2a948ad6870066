"""The owners of streams (service/events_api/access.py): a batch's owners are learned in one
read, after which they are answered without reading."""

from events.postgres import PostgresEventStore, create_pool
from events.types import Actor, Metadata
from service.events_api.access import Owners
from tests.sample_events import Noted


async def test_a_batchs_owners_are_learned_at_once_then_known_without_reading(
    store: PostgresEventStore, database_url: str
) -> None:
    for n in range(5):
        actor = Metadata(actor=Actor(user_id="u", project_id=f"project-{n}"))
        await store.append(f"note-{n}", [Noted(n=n)], metadata=actor)
        await store.append(f"note-{n}", [Noted(n=n + 10)])
    later = [e for e in await store.read_all(0, 100) if e.version == 2]
    pool = await create_pool(database_url, min_size=1, max_size=1)
    owners = Owners(PostgresEventStore(pool))

    await owners.learn(later)
    await pool.close()  # from here on, any read would fail

    assert [await owners.of(e) for e in later] == [f"project-{n}" for n in range(5)]
