"""The detail listing is assembled from server documents rendered once per version of
their row: it shows each server as `GET /servers/{id}` does, for every caller and
microversion, and a change to a server shows in the next listing."""

from events.postgres import PostgresEventStore
from service.compute.server_view import instance_name
from tests.integration.compute.conftest import Nova, Person, add_server

VERSIONS = (None, "2.3", "2.9", "2.16", "2.19", "2.26", "2.47", "2.73", "2.90")


async def shown_alone(nova: Nova, listed: list[dict[str, object]]) -> list[object]:
    """Each listed server as shown alone, less what only show adds (server_groups, 2.71)."""
    shown = [(await nova.get(f"servers/{s['id']}")).body["server"] for s in listed]
    return [{k: v for k, v in s.items() if k != "server_groups"} for s in shown]


async def test_listed_documents_are_the_shown_ones_for_every_caller_and_version(
    store: PostgresEventStore, alice: Person, as_alice: Nova, nova_admin: Nova
) -> None:
    for i in range(3):
        await add_server(store, alice, f"00000000-0000-4000-8000-00000000000{i}", host="h1")
    for version in VERSIONS:
        for nova, query in ((as_alice, ""), (nova_admin, "?all_tenants=1")):
            caller = nova.at(version) if version else nova
            for _ in range(2):  # rendered, then from the rendered documents kept
                reply = await caller.get(f"servers/detail{query}")
                listed = reply.body["servers"]
                assert len(listed) == 3
                assert listed == await shown_alone(caller, listed)
            if version is None:
                reply.check("servers.list_servers_detail")
    admin_view = (await nova_admin.at("2.3").get("servers/detail?all_tenants=1")).body
    assert admin_view["servers"][0]["OS-EXT-SRV-ATTR:instance_name"] == instance_name(
        admin_view["servers"][0]["id"]
    )
    assert "OS-EXT-SRV-ATTR:host" not in (await as_alice.get("servers/detail")).body["servers"][0]


async def test_a_changed_server_is_listed_as_it_is_now(
    store: PostgresEventStore, alice: Person, as_alice: Nova
) -> None:
    server_id = "00000000-0000-4000-8000-0000000000aa"
    await add_server(store, alice, server_id, host="h1")
    nova = as_alice.at("2.19")
    [before] = (await nova.get("servers/detail")).body["servers"]
    assert before["name"] == server_id
    reply = await nova.put(
        f"servers/{server_id}", {"server": {"name": "renamed", "description": "d"}}
    )
    assert reply.status == 200, reply.body
    [after] = (await nova.get("servers/detail")).body["servers"]
    assert (after["name"], after["description"]) == ("renamed", "d")
    assert after == (await nova.get(f"servers/{server_id}")).body["server"]


async def test_an_admin_lists_one_projects_servers_with_all_tenants_and_tenant_id(
    store: PostgresEventStore, alice: Person, bob: Person, nova_admin: Nova
) -> None:
    """As Nova: tenant_id narrows an admin's listing only with all_tenants (alone it is
    ignored: the admin's own project)."""
    await add_server(store, alice, "00000000-0000-4000-8000-0000000000a1", host="h1")
    await add_server(store, bob, "00000000-0000-4000-8000-0000000000b1", host="h1")

    async def names(query: str) -> list[str]:
        return [s["name"] for s in (await nova_admin.get(f"servers{query}")).body["servers"]]

    assert await names(f"?tenant_id={alice.project_id}") == []
    assert await names(f"?all_tenants&tenant_id={alice.project_id}") == [
        "00000000-0000-4000-8000-0000000000a1"
    ]
    assert len(await names("?all_tenants=1")) == 2


async def test_a_server_in_no_security_group_shows_none(
    store: PostgresEventStore, alice: Person, as_alice: Nova
) -> None:
    server_id = "00000000-0000-4000-8000-0000000000c1"
    await add_server(store, alice, server_id, host="h1", security_groups=())
    shown = (await as_alice.get(f"servers/{server_id}")).check("servers.get_server")
    assert "security_groups" not in shown["server"]
