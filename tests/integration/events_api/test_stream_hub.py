"""The live stream's subscribers share one follower of the log (service/events_api/hub.py):
one more LISTEN connection however many subscribe, and each gets every event it asked for
and may see, in order."""

import asyncio
import contextlib

import msgspec

from events.postgres import PostgresEventStore
from tests.integration.events_api.conftest import act, created
from tests.integration.events_api.sse_reader import Message, events
from tests.integration.identity.conftest import Client, Person


async def listeners(store: PostgresEventStore) -> int:
    """Connections to this database that LISTEN for appends."""
    found: int = await store.pool.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND query ILIKE 'LISTEN %'"
    )
    return found


async def test_twenty_one_subscribers_share_one_follower(
    client: Client, store: PostgresEventStore, alice: Person, bob: Person, admin_token: str
) -> None:
    before = await listeners(store)
    async with contextlib.AsyncExitStack() as stack:
        responses = []
        for i in range(21):
            token = (admin_token, alice.token, bob.token)[i % 3]
            response = await client.get(
                "/events/v1/stream?resource_type=server", headers={"X-Auth-Token": token}
            )
            stack.callback(response.close)
            assert response.status == 200
            responses.append(response)
        await asyncio.sleep(0.3)
        assert await listeners(store) == before + 1

        for i in range(6):
            person = (alice, bob)[i % 2]
            await act(store, person, f"server-s{i}", [created(person, f"s{i}")])
        as_admin = await asyncio.gather(*(events(r, 6) for r in responses[::3]))
        as_alice = await asyncio.gather(*(events(r, 3) for r in responses[1::3]))
        as_bob = await asyncio.gather(*(events(r, 3) for r in responses[2::3]))

    assert all(resources(got) == [f"s{i}" for i in range(6)] for got in as_admin)
    assert all(resources(got) == ["s0", "s2", "s4"] for got in as_alice)
    assert all(resources(got) == ["s1", "s3", "s5"] for got in as_bob)


def resources(messages: list[Message]) -> list[str]:
    return [msgspec.json.decode(m.data or "{}")["resource_id"] for m in messages]
