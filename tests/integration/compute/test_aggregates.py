"""Host aggregates (admin): numbered as Nova's, names unique, hosts of the aggregate's
zone only, metadata; Tempest's schemas; rebuilt from their streams alone."""

from events.postgres import PostgresEventStore
from tests.integration.compute.conftest import Nova, add_host


async def test_aggregates(nova_admin: Nova, as_alice: Nova, store: PostgresEventStore) -> None:
    await add_host(store, "cn1")
    await add_host(store, "cn2", zone="rack2")
    created = (await nova_admin.post("os-aggregates", {"aggregate": {"name": "fast"}})).check(
        "aggregates.create_aggregate"
    )["aggregate"]
    assert (created["id"], created["name"], created["availability_zone"]) == (1, "fast", None)
    second = {"aggregate": {"name": "r2", "availability_zone": "rack2"}}
    assert (await nova_admin.post("os-aggregates", second)).body["aggregate"]["id"] == 2
    for bad, status in (("fast", 409), ("", 400), ("a" * 256, 400)):
        reply = await nova_admin.post("os-aggregates", {"aggregate": {"name": bad}})
        assert reply.status == status, bad
    added = await nova_admin.post("os-aggregates/1/action", {"add_host": {"host": "cn1"}})
    assert added.check("aggregates.aggregate_add_remove_host")["aggregate"]["hosts"] == ["cn1"]
    for body, status in (
        ({"add_host": {"host": "cn1"}}, 409),  # already in it
        ({"add_host": {"host": "nowhere"}}, 404),
        ({"remove_host": {"host": "cn2"}}, 404),  # not in it
        ({"colour": {}}, 400),
    ):
        assert (await nova_admin.post("os-aggregates/1/action", body)).status == status, body
    # a host joins only an aggregate of its zone
    assert (
        await nova_admin.post("os-aggregates/2/action", {"add_host": {"host": "cn1"}})
    ).status == 409
    assert (
        await nova_admin.post("os-aggregates/2/action", {"add_host": {"host": "cn2"}})
    ).status == 200
    metadata = {"set_metadata": {"metadata": {"ssd": "yes", "gpu": "no"}}}
    await nova_admin.post("os-aggregates/1/action", metadata)
    unset = {"set_metadata": {"metadata": {"gpu": None}}}
    shown = (await nova_admin.post("os-aggregates/1/action", unset)).check(
        "aggregates.aggregate_set_metadata"
    )["aggregate"]
    assert shown["metadata"] == {"ssd": "yes"}
    renamed = (await nova_admin.put("os-aggregates/1", {"aggregate": {"name": "quick"}})).check(
        "aggregates.update_aggregate"
    )["aggregate"]
    assert renamed["name"] == "quick" and renamed["hosts"] == ["cn1"]
    assert (await nova_admin.put("os-aggregates/1", {"aggregate": {"name": "r2"}})).status == 409
    moved = {"aggregate": {"availability_zone": "rack2"}}
    assert (await nova_admin.put("os-aggregates/1", moved)).status == 400  # cn1 is in nova
    listed = (await nova_admin.get("os-aggregates")).check("aggregates.list_aggregates")
    assert [a["name"] for a in listed["aggregates"]] == ["quick", "r2"]
    r2 = (await nova_admin.get("os-aggregates/2")).check("aggregates.get_aggregate")["aggregate"]
    assert r2["metadata"] == {"availability_zone": "rack2"}
    assert (await nova_admin.delete("os-aggregates/1")).status == 400  # it has a host
    await nova_admin.post("os-aggregates/1/action", {"remove_host": {"host": "cn1"}})
    (await nova_admin.delete("os-aggregates/1")).check("aggregates.delete_aggregate")
    for path in ("os-aggregates/1", "os-aggregates/-1", "os-aggregates/x"):
        assert (await nova_admin.get(path)).status == 404, path
    again = (await nova_admin.post("os-aggregates", {"aggregate": {"name": "quick"}})).body
    assert again["aggregate"]["id"] == 3  # a deleted aggregate's number is not given again
    for method, path in (
        ("GET", "os-aggregates"),
        ("GET", "os-aggregates/2"),
        ("DELETE", "os-aggregates/2"),
        ("POST", "os-aggregates"),
    ):
        body = {"aggregate": {"name": "mine"}} if method == "POST" else None
        assert (await as_alice.call(method, path, body)).status == 403, path
    remove = {"remove_host": {"host": "cn2"}}
    assert (await as_alice.post("os-aggregates/2/action", remove)).status == 403
