"""The live stream's subscribers share one follower of the log (service/events_api/hub.py):
one more LISTEN connection however many subscribe, and each gets every event it asked for
and may see, in order; the follower reads at most once a period, and what committed
meanwhile goes out in one write."""

import asyncio
import contextlib
import time

import msgspec
import pytest
from aiohttp import ClientResponse

from events.postgres import PostgresEventStore
from service.events_api.sse import StreamOptions
from tests.integration.events_api.conftest import act, created
from tests.integration.events_api.sse_reader import WAIT, Message, events
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


async def chunk_of_events(response: ClientResponse) -> list[str]:
    """The ids of the events in the stream's next HTTP chunk (one write of the hub)."""
    data = b""
    async with asyncio.timeout(WAIT):
        while True:
            part, end = await response.content.readchunk()
            data += part
            if end:
                break
    return [line[4:].decode() for line in data.split(b"\n") if line.startswith(b"id: ")]


@pytest.mark.parametrize(
    "stream_options", [StreamOptions(keepalive=30.0, buffer=1000, write_timeout=5.0, period=2.0)]
)
async def test_events_of_one_period_go_out_in_one_write_and_after_a_quiet_spell_at_once(
    client: Client, store: PostgresEventStore, alice: Person, admin_token: str
) -> None:
    positions: list[str] = []

    async def create(i: int) -> None:
        appended = await act(store, alice, f"server-s{i}", [created(alice, f"s{i}")])
        positions.append(str(appended.events[0].position))

    response = await client.get(
        "/events/v1/stream?resource_type=server", headers={"X-Auth-Token": admin_token}
    )
    with contextlib.closing(response):
        assert response.status == 200
        await asyncio.sleep(0.1)  # the stream starts at the head of the log
        await create(0)
        first = await chunk_of_events(response)
        # The hub has read once: what commits within its period comes in its next read.
        for i in range(1, 4):
            await create(i)
        second = await chunk_of_events(response)
        await asyncio.sleep(2.5)  # a period without events
        start = time.perf_counter()
        await create(4)
        third = await chunk_of_events(response)
        waited = time.perf_counter() - start

    assert (first, second, third) == (positions[:1], positions[1:4], positions[4:])
    assert waited < 1.0  # not a period
