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


async def test_policy_and_rules_from_2_64(as_alice: Nova) -> None:
    nova = as_alice.at("2.64")
    body = {"name": "g", "policy": "anti-affinity", "rules": {"max_server_per_host": "3"}}
    created = (await nova.post("os-server-groups", {"server_group": body})).check(
        "server_groups.create_show_server_group", "v2_64"
    )["server_group"]
    assert (created["policy"], created["rules"]) == ("anti-affinity", {"max_server_per_host": 3})
    listed = (await nova.get("os-server-groups")).check("server_groups.list_server_groups", "v2_64")
    assert listed["server_groups"][0]["rules"] == {"max_server_per_host": 3}
    older = (await as_alice.at("2.63").get(f"os-server-groups/{created['id']}")).body
    assert older["server_group"]["policies"] == ["anti-affinity"]
    plain = await nova.post(
        "os-server-groups", {"server_group": {"name": "p", "policy": "affinity"}}
    )
    assert plain.body["server_group"]["rules"] == {}
    for version, bad in (
        ("2.64", group()["server_group"]),  # policies, not policy
        ("2.63", {"name": "g", "policy": "affinity"}),
        ("2.64", {"name": "g", "policy": "affinity", "rules": {"max_server_per_host": 2}}),
        ("2.64", {"name": "g", "policy": "anti-affinity", "rules": {"max_server_per_host": 0}}),
        ("2.64", {"name": "g", "policy": "anti-affinity", "rules": {"colour": 1}}),
        ("2.64", {"name": "g", "policy": "sometimes"}),
    ):
        reply = await as_alice.at(version).post("os-server-groups", {"server_group": bad})
        assert reply.status == 400, (version, bad)
