"""Server groups: create, list, show, delete with their members, 2.13's owners, policy
validation, project isolation and the server-group quota."""

from events.postgres import PostgresEventStore
from tests.integration.compute.conftest import Nova, add_server
from tests.integration.identity.conftest import Person


def group(name: str = "g", policy: str = "anti-affinity") -> dict[str, object]:
    return {"server_group": {"name": name, "policies": [policy]}}


async def test_lifecycle(
    as_alice: Nova, as_rita: Nova, alice: Person, store: PostgresEventStore
) -> None:
    created = (await as_alice.post("os-server-groups", group())).check(
        "server_groups.create_show_server_group"
    )["server_group"]
    assert (created["policies"], created["members"]) == (["anti-affinity"], [])
    await add_server(store, alice, "s1", server_group_id=created["id"])
    shown = (await as_rita.get(f"os-server-groups/{created['id']}")).check(
        "server_groups.create_show_server_group"
    )
    assert shown["server_group"]["members"] == ["s1"]
    listed = (await as_rita.get("os-server-groups")).check("server_groups.list_server_groups")
    assert [g["id"] for g in listed["server_groups"]] == [created["id"]]
    owned = (await as_rita.at("2.13").get(f"os-server-groups/{created['id']}")).check(
        "server_groups.create_show_server_group", "v2_13"
    )
    assert owned["server_group"]["project_id"] == alice.project_id
    assert (await as_rita.delete(f"os-server-groups/{created['id']}")).status == 403
    (await as_alice.delete(f"os-server-groups/{created['id']}")).check(
        "server_groups.delete_server_group"
    )
    assert (await as_alice.get(f"os-server-groups/{created['id']}")).status == 404


async def test_isolation_and_admin_view(as_alice: Nova, as_bob: Nova, nova_admin: Nova) -> None:
    created = (await as_alice.post("os-server-groups", group())).body["server_group"]
    assert (await as_bob.get(f"os-server-groups/{created['id']}")).status == 404
    assert (await as_bob.delete(f"os-server-groups/{created['id']}")).status == 404
    assert (await as_bob.get("os-server-groups")).body == {"server_groups": []}
    assert (await as_bob.get("os-server-groups?all_projects=true")).status == 403
    every = (await nova_admin.get("os-server-groups?all_projects=true")).body["server_groups"]
    assert [g["id"] for g in every] == [created["id"]]
    assert (await nova_admin.get(f"os-server-groups/{created['id']}")).status == 200


async def test_invalid_groups(as_alice: Nova, as_rita: Nova) -> None:
    bad = [
        group(policy="together"),
        group(policy="soft-affinity"),  # only from 2.15
        group(name=""),
        group(name="  "),
        group(name="g" * 256),
        {"server_group": {"name": "g", "policies": ["affinity", "anti-affinity"]}},
        {"server_group": {"name": "g", "policies": []}},
    ]
    for body in bad:
        assert (await as_alice.post("os-server-groups", body)).status == 400, body
    soft = await as_alice.at("2.15").post("os-server-groups", group(policy="soft-affinity"))
    assert soft.status == 200
    assert (await as_rita.post("os-server-groups", group())).status == 403


async def test_quota(as_alice: Nova) -> None:
    for number in range(10):
        assert (await as_alice.post("os-server-groups", group(f"g{number}"))).status == 200
    refused = await as_alice.post("os-server-groups", group("one too many"))
    assert refused.status == 403
    assert refused.body["forbidden"]["message"] == "Quota exceeded, too many server groups."
