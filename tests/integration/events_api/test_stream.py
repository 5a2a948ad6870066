"""GET /events/v1/stream: the log live as Server-Sent Events, filtered, resumable with no
gap and no duplicate, kept alive, authorised, and dropping subscribers that lag."""

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import aiohttp
import msgspec
import pytest
from aiohappyeyeballs import AddrInfoType
from aiohttp import ClientResponse

from events.postgres import PostgresEventStore
from service.compute import events as ev
from service.events_api.sse import StreamOptions
from tests.integration.events_api.conftest import act, created
from tests.integration.events_api.sse_reader import events, next_message
from tests.integration.identity.conftest import Client, Person


@contextlib.asynccontextmanager
async def subscribe(
    client: Client, token: str, query: str = "", **headers: str
) -> AsyncIterator[ClientResponse]:
    response = await client.get(
        f"/events/v1/stream{query}", headers={"X-Auth-Token": token, **headers}
    )
    try:
        yield response
    finally:
        response.close()


async def test_new_events_arrive_as_sse_without_secrets(
    client: Client, store: PostgresEventStore, alice: Person, admin_token: str
) -> None:
    async with subscribe(client, admin_token, "?resource_type=server") as response:
        assert response.status == 200
        assert response.content_type == "text/event-stream"
        await asyncio.sleep(0.1)  # the stream starts at the head of the log
        appended = await act(store, alice, "server-s1", [created(alice, "s1")])
        [message] = await events(response, 1)

    assert message.id == str(appended.events[0].position)
    assert message.event == "ServerCreateRequested"
    assert message.data is not None
    data = msgspec.json.decode(message.data)
    assert data["resource_id"] == "s1"
    assert data["actor"]["user_id"] == alice.user_id
    assert "admin_password" not in data["data"] and "hunter2" not in message.data


async def test_resuming_after_a_position_has_no_gap_and_no_duplicate(
    client: Client, store: PostgresEventStore, alice: Person, admin_token: str
) -> None:
    for i in range(5):
        await act(store, alice, f"server-s{i}", [created(alice, f"s{i}")])
    wanted = [e.position for e in await store.read_all(types=["ServerCreateRequested"])]
    query = "?types=ServerCreateRequested"

    async with subscribe(client, admin_token, f"{query}&after=0") as response:
        first = await events(response, 2)
    last_id = first[-1].id
    assert last_id is not None
    async with subscribe(client, admin_token, query, **{"Last-Event-ID": last_id}) as response:
        rest = await events(response, 3)

    assert [int(m.id or 0) for m in first + rest] == wanted


async def test_resuming_after_a_position_the_log_has_not_reached_skips_up_to_it(
    client: Client, store: PostgresEventStore, alice: Person, admin_token: str
) -> None:
    first = await act(store, alice, "server-s1", [created(alice, "s1")])
    after = first.events[0].position + 2
    async with subscribe(client, admin_token, f"?types=ServerUpdated&after={after}") as r:
        await asyncio.sleep(0.1)  # it has joined the hub, whose next read holds all four
        changes = [ev.ServerUpdated(server_id="s1", name=f"n{i}") for i in range(4)]
        appended = await act(store, alice, "server-s1", changes)
        later = [e.position for e in appended.events if e.position > after]
        assert 0 < len(later) < 4
        assert [int(m.id or 0) for m in await events(r, len(later))] == later


async def test_filters_by_type_and_resource_type(
    client: Client, store: PostgresEventStore, alice: Person, admin_token: str
) -> None:
    await act(store, alice, "server-s1", [created(alice, "s1")])
    await act(store, alice, "server-s1", [ev.ServerUpdated(server_id="s1", name="x")])
    await act(store, alice, "keypair-k1", [
        ev.KeypairCreated(keypair_id="k1", user_id=alice.user_id, name="k", public_key="p",
                          fingerprint="f"),
    ])  # fmt: skip
    async with subscribe(client, admin_token, "?after=0&types=ServerUpdated,KeypairCreated"
                         "&resource_type=keypair") as response:  # fmt: skip
        [message] = await events(response, 1)
        assert message.event == "KeypairCreated"
        assert (await next_message(response)).comment == "keep-alive"  # type: ignore[union-attr]


async def test_members_see_only_their_projects_events(
    client: Client, store: PostgresEventStore, alice: Person, bob: Person, admin_token: str
) -> None:
    await act(store, bob, "server-b1", [created(bob, "b1")])
    await act(store, alice, "server-a1", [created(alice, "a1")])
    await act(store, bob, "server-b1", [ev.ServerUpdated(server_id="b1", name="x")])
    await act(store, alice, "server-a1", [ev.ServerUpdated(server_id="a1", name="y")])

    async with subscribe(client, alice.token, "?after=0") as response:
        seen = []
        while (message := await next_message(response)) and message.comment is None:
            seen.append(message)
    # Her user's creation and role grant, the audit record of her login, her servers.
    assert {"UserCreated", "RoleGranted", "AuditRecorded"} <= {m.event for m in seen}
    servers = [m for m in seen if m.event in ("ServerCreateRequested", "ServerUpdated")]
    assert [msgspec.json.decode(m.data or "")["resource_id"] for m in servers] == ["a1", "a1"]
    assert not [m for m in seen if bob.project_id in (m.data or "")]

    async with subscribe(client, admin_token, f"?after=0&project_id={bob.project_id}"
                         "&resource_type=server") as response:  # fmt: skip
        theirs = await events(response, 2)
    assert [msgspec.json.decode(m.data or "")["resource_id"] for m in theirs] == ["b1", "b1"]

    async with subscribe(client, alice.token, f"?project_id={bob.project_id}") as response:
        assert response.status == 403
    async with subscribe(client, alice.token, "?after=soon") as response:
        assert response.status == 400


@pytest.mark.parametrize(
    "stream_options", [StreamOptions(keepalive=0.2, buffer=2, write_timeout=5.0)]
)
async def test_a_lagging_subscriber_is_dropped_with_a_final_error_and_may_resume(
    client: Client, store: PostgresEventStore, alice: Person, admin_token: str
) -> None:
    for i in range(6):
        await act(store, alice, f"server-s{i}", [created(alice, f"s{i}")])
    wanted = [e.position for e in await store.read_all(types=["ServerCreateRequested"])]
    query = "?types=ServerCreateRequested"

    async with subscribe(client, admin_token, f"{query}&after=0") as response:
        sent = await events(response, 2)
        error = await next_message(response)
        assert error is not None and error.event == "error"
        last_id = msgspec.json.decode(error.data or "")["last_id"]
        assert await next_message(response) is None  # the response has ended
    assert [int(m.id or 0) for m in sent] == wanted[:2] and last_id == wanted[1]

    async with subscribe(client, admin_token, query, **{"Last-Event-ID": str(last_id)}) as r:
        assert [int(m.id or 0) for m in await events(r, 2)] == wanted[2:4]


def small_receive_buffer(address: AddrInfoType) -> socket.socket:
    """A client socket that holds little of what it is sent but does not read yet."""
    family, kind, protocol, _, _ = address
    sock = socket.socket(family, kind, protocol)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    return sock


@pytest.mark.parametrize(
    "stream_options", [StreamOptions(keepalive=0.2, buffer=2, write_timeout=5.0)]
)
async def test_a_live_subscriber_that_stops_reading_is_dropped_and_slows_no_other(
    client: Client, store: PostgresEventStore, alice: Person, admin_token: str
) -> None:
    await act(store, alice, "server-s1", [created(alice, "s1")])
    # 7 MB in all: more than the client holds and the server's socket takes (Linux's
    # largest send buffer is 4 MiB by default), so the rest waits at the hub.
    query, count, pad = "?types=ServerMetadataSet", 120, "x" * 60_000
    headers = {"X-Auth-Token": admin_token}
    connector = aiohttp.TCPConnector(socket_factory=small_receive_buffer)
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.get(client.make_url(f"/events/v1/stream{query}"), headers=headers) as stalled,
        subscribe(client, admin_token, query) as reading,
    ):
        await asyncio.sleep(0.1)  # both streams start at the head of the log
        keeping_up = asyncio.create_task(events(reading, count))
        appended = []
        for n in range(count):
            change = ev.ServerMetadataSet(server_id="s1", items={"n": str(n), "pad": pad})
            appended.append((await act(store, alice, "server-s1", [change])).events[0].position)
        assert [int(m.id or 0) for m in await keeping_up] == appended

        seen = []
        while (message := await next_message(stalled)) and message.event != "error":
            if message.comment is None:
                seen.append(int(message.id or 0))
        assert message is not None, "the stalled stream ended without a final error"
        last_id = msgspec.json.decode(message.data or "")["last_id"]
        assert 0 < len(seen) < count and seen == appended[: len(seen)] and last_id == seen[-1]
        assert await next_message(stalled) is None
