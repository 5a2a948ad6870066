"""GET /events/v1/resources/{type}/{id}/history: every event of a resource, in order,
with who and why, without secrets, and only to those who may read it."""

import re

from events.postgres import PostgresEventStore
from service.compute import events as ev
from tests.integration.events_api.conftest import Reader, act, created
from tests.integration.identity.conftest import Client, Person

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


async def test_a_servers_history_in_order_with_who_and_why(
    store: PostgresEventStore, alice: Person, admin_reader: Reader
) -> None:
    first = await act(store, alice, "server-s1", [created(alice, "s1")])
    await act(store, alice, "server-s1", [ev.ServerUpdated(server_id="s1", name="renamed")])

    status, body = await admin_reader.get("resources/server/s1/history")

    assert status == 200, body
    events = body["events"]
    assert [e["type"] for e in events] == ["ServerCreateRequested", "ServerUpdated"]
    assert [e["version"] for e in events] == [1, 2]
    assert events[0]["position"] == first.events[0].position < events[1]["position"]
    one = events[0]
    assert RFC3339.match(one["time"])
    assert one["actor"] == {
        "user_id": alice.user_id, "project_id": alice.project_id, "roles": ["member"]
    }  # fmt: skip
    assert one["request_id"] == "req-server-s1"
    assert one["correlation_id"] == "corr-1"
    assert one["causation_id"] is None
    assert (one["resource_type"], one["resource_id"]) == ("server", "s1")
    assert one["data"]["name"] == "s1"
    assert one["data"]["project_id"] == alice.project_id
    assert events[1]["data"] == {"server_id": "s1", "name": "renamed"}


async def test_secret_fields_and_the_tag_never_leave(
    store: PostgresEventStore, alice: Person, admin_reader: Reader
) -> None:
    await act(store, alice, "server-s1", [created(alice, "s1")])
    _, body = await admin_reader.get("resources/server/s1/history")
    data = body["events"][0]["data"]
    assert not {"user_data", "admin_password", "event_type"} & data.keys()
    assert "hunter2" not in str(body)

    status, body = await admin_reader.get(f"resources/user/{alice.user_id}/history")
    assert status == 200
    assert body["events"][0]["type"] == "UserCreated"
    assert all("password_hash" not in e["data"] for e in body["events"])


async def test_members_read_their_projects_resources_only(
    client: Client, store: PostgresEventStore, alice: Person, bob: Person
) -> None:
    await act(store, alice, "server-s1", [created(alice, "s1")])
    as_alice, as_bob = Reader(client, alice.token), Reader(client, bob.token)

    assert (await as_alice.get("resources/server/s1/history"))[0] == 200
    status, body = await as_bob.get("resources/server/s1/history")
    assert status == 404
    assert body["error"]["code"] == 404  # Keystone's fault shape
    assert (await Reader(client, None).get("resources/server/s1/history"))[0] == 401


async def test_identity_resources_are_admin_only_but_for_ones_own_user_and_project(
    client: Client, alice: Person, bob: Person, admin_reader: Reader
) -> None:
    as_alice = Reader(client, alice.token)
    assert (await as_alice.get(f"resources/user/{alice.user_id}/history"))[0] == 200
    assert (await as_alice.get(f"resources/user/{bob.user_id}/history"))[0] == 404
    assert (await as_alice.get(f"resources/project/{alice.project_id}/history"))[0] == 200
    assert (await as_alice.get(f"resources/project/{bob.project_id}/history"))[0] == 404
    assert (await admin_reader.get(f"resources/project/{alice.project_id}/history"))[0] == 200


async def test_a_resource_without_events_is_not_found(admin_reader: Reader) -> None:
    assert (await admin_reader.get("resources/server/nothing/history"))[0] == 404
