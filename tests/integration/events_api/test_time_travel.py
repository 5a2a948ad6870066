"""GET /events/v1/resources/{type}/{id}?at=: a server as Nova showed it then, rebuilt
from its stream alone."""

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from events.postgres import PostgresEventStore
from service.compute import events as ev
from service.compute.api.microversion import MIN
from service.compute.directory import get_server
from service.compute.server_view import detail
from tests.integration.events_api.conftest import Reader, act, created
from tests.integration.identity.conftest import PUBLIC_URL, Client, Person


async def live_server(
    client: Client, store: PostgresEventStore, alice: Person
) -> tuple[int, int, int]:
    """Server s1 of alice's through its life; the positions of its creation, activation
    and rename."""
    made = await act(store, alice, "server-s1", [created(alice, "s1", metadata={"a": "1"})])
    active = await act(store, alice, "server-s1", [
        ev.ServerScheduled(server_id="s1", host="h1", node="h1"),
        ev.ServerActive(server_id="s1", host="h1", launched_at=datetime.now(UTC)),
    ])  # fmt: skip
    renamed = await act(store, alice, "server-s1", [
        ev.ServerUpdated(server_id="s1", name="web"),
        ev.ServerMetadataSet(server_id="s1", items={"b": "2"}),
        ev.ServerTagsSet(server_id="s1", tags=("x",)),
        ev.ServerSecurityGroupAdded(server_id="s1", name="web"),
        ev.ServerLocked(server_id="s1", locked_by="owner"),
        ev.ServerActionRequested(server_id="s1", action="stop", task_state="powering-off"),
        ev.ServerActionSucceeded(server_id="s1", action="stop", vm_state="stopped",
                                 power_state=4),
    ])  # fmt: skip
    return (
        made.events[-1].position,
        active.events[-1].position,
        renamed.events[-1].position,
    )


async def test_now_is_what_nova_shows(
    client: Client, store: PostgresEventStore, alice: Person
) -> None:
    await live_server(client, store, alice)
    row = await get_server(store.pool, "s1")
    assert row is not None

    status, body = await Reader(client, alice.token).get("resources/server/s1")

    assert status == 200, body
    assert body == {"server": detail(row, PUBLIC_URL, MIN, admin=False)}
    assert body["server"]["status"] == "SHUTOFF"
    assert body["server"]["metadata"] == {"a": "1", "b": "2"}


async def test_the_server_as_it_was_at_a_position(
    client: Client, store: PostgresEventStore, alice: Person
) -> None:
    made, active, _ = await live_server(client, store, alice)
    reader = Reader(client, alice.token)

    _, then = await reader.get(f"resources/server/s1?at={made}")
    assert then["server"]["status"] == "BUILD"
    assert then["server"]["name"] == "s1"
    assert then["server"]["OS-EXT-STS:task_state"] == "scheduling"

    _, then = await reader.get(f"resources/server/s1?at={active}")
    assert then["server"]["status"] == "ACTIVE"
    assert then["server"]["name"] == "s1"
    assert then["server"]["metadata"] == {"a": "1"}


async def test_the_server_as_it_was_at_a_time(
    client: Client, store: PostgresEventStore, alice: Person
) -> None:
    await live_server(client, store, alice)
    events = await store.read_stream("server-s1")
    reader = Reader(client, alice.token)

    created_at = events[0].recorded_at.astimezone(UTC).isoformat()
    status, then = await reader.get(f"resources/server/s1?at={quote(created_at)}")
    assert status == 200, then
    assert then["server"]["status"] == "BUILD"
    # An unescaped "+" of the offset arrives as a space; it still means the offset.
    status, then = await reader.get(f"resources/server/s1?at={created_at}")
    assert (status, then["server"]["status"]) == (200, "BUILD")

    before = (events[0].recorded_at - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert (await reader.get(f"resources/server/s1?at={before}"))[0] == 404


async def test_a_deleted_server_did_not_exist_after_its_deletion(
    client: Client, store: PostgresEventStore, alice: Person
) -> None:
    _, active, _ = await live_server(client, store, alice)
    await act(store, alice, "server-s1", [ev.ServerDeleteRequested(server_id="s1")])
    await act(store, alice, "server-s1", [ev.ServerDeleted(server_id="s1")])
    reader = Reader(client, alice.token)

    assert (await reader.get("resources/server/s1"))[0] == 404
    assert (await reader.get(f"resources/server/s1?at={active}"))[0] == 200


async def test_bad_moments_other_projects_and_unknown_types(
    client: Client, store: PostgresEventStore, alice: Person, bob: Person, admin_reader: Reader
) -> None:
    await live_server(client, store, alice)
    reader = Reader(client, alice.token)

    for bad in ("yesterday", "2026-01-01T00:00:00", "-3"):
        status, body = await reader.get(f"resources/server/s1?at={quote(bad)}")
        assert status == 400, bad
        assert body["error"]["code"] == 400
    assert (await Reader(client, bob.token).get("resources/server/s1"))[0] == 404
    assert (await admin_reader.get("resources/server/s1"))[0] == 200
    assert (await admin_reader.get(f"resources/login/{alice.user_id}"))[0] == 404
