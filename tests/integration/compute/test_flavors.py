"""Flavors: the default set, listing with Nova's filters, sorting and paging, management by
admins only, extra specs, and private flavors shared with projects; responses checked
against Tempest's schemas."""

from typing import Any

from events.postgres import PostgresEventStore
from service.compute.flavor_bootstrap import ensure_default_flavors
from tests.integration.compute.conftest import Nova
from tests.integration.identity.conftest import Person

NEW = {"name": "c1.test", "ram": 256, "vcpus": 1, "disk": 2, "id": "c1"}


async def test_default_flavors_are_created_once(
    store: PostgresEventStore, nova_admin: Nova
) -> None:
    assert await ensure_default_flavors(store) == 6
    assert await ensure_default_flavors(store) == 0
    body = (await nova_admin.get("flavors/detail")).check("flavors.list_flavors_details")
    sizes = [(f["id"], f["name"], f["vcpus"], f["ram"], f["disk"]) for f in body["flavors"]]
    assert sizes[:3] == [("1", "m1.nano", 1, 128, 1), ("2", "m1.micro", 1, 192, 1),
                         ("3", "m1.tiny", 1, 512, 1)]  # fmt: skip
    assert body["flavors"][0]["swap"] == ""
    assert body["flavors"][0]["links"][0]["href"].endswith("/compute/v2.1/flavors/1")


async def test_a_deleted_default_flavor_stays_deleted(
    store: PostgresEventStore, nova_admin: Nova
) -> None:
    await ensure_default_flavors(store)
    assert (await nova_admin.delete("flavors/1")).status == 202
    assert await ensure_default_flavors(store) == 0


async def test_paging_sorting_and_filters(store: PostgresEventStore, as_alice: Nova) -> None:
    await ensure_default_flavors(store)
    page = (await as_alice.get("flavors?limit=2")).check("flavors.list_flavors")
    assert [f["id"] for f in page["flavors"]] == ["1", "2"]
    (link,) = page["flavors_links"]
    assert link["rel"] == "next" and "marker=2" in link["href"]
    rest = (await as_alice.get("flavors?limit=2&marker=2")).body
    assert [f["id"] for f in rest["flavors"]] == ["3", "4"]
    by_ram = (await as_alice.get("flavors/detail?sort_key=memory_mb&sort_dir=desc")).body
    assert [f["name"] for f in by_ram["flavors"]][:2] == ["m1.large", "m1.medium"]
    large = (await as_alice.get("flavors?minRam=4096&minDisk=50")).body
    assert [f["name"] for f in large["flavors"]] == ["m1.large"]
    for query in ("sort_key=colour", "marker=nope", "minRam=x", "limit=-1"):
        assert (await as_alice.get(f"flavors?{query}")).status == 400, query


async def test_admins_manage_flavors(nova_admin: Nova, as_alice: Nova) -> None:
    created = (await nova_admin.post("flavors", {"flavor": NEW})).check(
        "flavors.create_update_get_flavor_details"
    )["flavor"]
    assert created["id"] == "c1" and created["os-flavor-access:is_public"] is True
    shown = (await as_alice.get("flavors/c1")).check("flavors.create_update_get_flavor_details")
    assert shown["flavor"] == created
    assert (await nova_admin.post("flavors", {"flavor": NEW})).status == 409
    assert (await nova_admin.post("flavors", {"flavor": NEW | {"id": "c2"}})).status == 409
    assert (await as_alice.post("flavors", {"flavor": NEW | {"id": "c3"}})).status == 403
    assert (await as_alice.delete("flavors/c1")).status == 403
    (await nova_admin.delete("flavors/c1")).check("flavors.delete_flavor")
    assert (await as_alice.get("flavors/c1")).status == 404
    generated = (await nova_admin.post("flavors", {"flavor": NEW | {"id": None}})).body
    assert len(generated["flavor"]["id"]) == 36


async def test_numbers_may_be_given_as_strings_and_ids_as_numbers(nova_admin: Nova) -> None:
    """As Nova's schema: ram, vcpus, disk, swap and ephemeral as digit strings, the id as a
    number (kept as its text), is_public as a word, rxtx_factor as a string."""
    texts = {
        "ram": "256",
        "vcpus": "2",
        "disk": "3",
        "swap": "4",
        "id": 42,
        "OS-FLV-EXT-DATA:ephemeral": "5",
        "os-flavor-access:is_public": "False",
        "rxtx_factor": "1.5",
    }
    created = (await nova_admin.post("flavors", {"flavor": NEW | texts})).check(
        "flavors.create_update_get_flavor_details"
    )["flavor"]
    shown = {k: created[k] for k in ("id", "ram", "vcpus", "disk", "swap", "rxtx_factor")}
    assert shown == {"id": "42", "ram": 256, "vcpus": 2, "disk": 3, "swap": 4, "rxtx_factor": 1.5}
    assert created["OS-FLV-EXT-DATA:ephemeral"] == 5
    assert created["os-flavor-access:is_public"] is False
    assert (await nova_admin.get("flavors/42")).status == 200
    assert (await nova_admin.post("flavors", {"flavor": NEW | {"id": 42}})).status == 409


async def test_invalid_flavors_are_refused(nova_admin: Nova) -> None:
    for bad in (
        {"ram": 0},
        {"name": " x"},
        {"name": ""},
        {"id": "a/b"},
        {"vcpus": "many"},
        {"ram": "0"},
        {"disk": "-1"},
        {"swap": "1.5"},
        {"ram": True},
        {"os-flavor-access:is_public": "maybe"},
        {"rxtx_factor": "0"},
        {"vcpus": 2**31},
    ):
        reply = await nova_admin.post("flavors", {"flavor": NEW | bad})
        assert reply.status == 400, bad
        assert "badRequest" in reply.body


async def test_private_flavors_are_shared_by_access(
    nova_admin: Nova, as_alice: Nova, as_bob: Nova, alice: Person
) -> None:
    await nova_admin.post("flavors", {"flavor": NEW | {"os-flavor-access:is_public": False}})

    async def names(nova: Nova, query: str = "") -> list[str]:
        return [f["name"] for f in (await nova.get(f"flavors{query}")).body["flavors"]]

    assert await names(as_alice) == []
    assert (await as_alice.get("flavors/c1")).status == 404
    assert await names(nova_admin) == []
    assert await names(nova_admin, "?is_public=none") == ["c1.test"]
    assert await names(nova_admin, "?is_public=false") == ["c1.test"]
    assert await names(nova_admin, "?is_public=f") == ["c1.test"]
    assert await names(nova_admin, "?is_public=t") == []
    assert (await nova_admin.get("flavors?is_public=maybe")).status == 400
    add = {"addTenantAccess": {"tenant": alice.project_id}}
    access = (await nova_admin.post("flavors/c1/action", add)).check(
        "flavors_access.add_remove_list_flavor_access"
    )
    assert access["flavor_access"] == [{"flavor_id": "c1", "tenant_id": alice.project_id}]
    assert (await nova_admin.post("flavors/c1/action", add)).status == 409
    assert (await as_alice.post("flavors/c1/action", add)).status == 403
    assert await names(as_alice) == ["c1.test"]
    assert (await as_alice.get("flavors/c1")).status == 200
    assert await names(as_bob) == []
    listed = await nova_admin.get("flavors/c1/os-flavor-access")
    assert listed.check("flavors_access.add_remove_list_flavor_access") == access
    remove = {"removeTenantAccess": {"tenant": alice.project_id}}
    (await nova_admin.post("flavors/c1/action", remove)).check(
        "flavors_access.add_remove_list_flavor_access"
    )
    assert (await nova_admin.post("flavors/c1/action", remove)).status == 404
    assert await names(as_alice) == []


async def test_access_lists_are_for_private_flavors(nova_admin: Nova) -> None:
    await nova_admin.post("flavors", {"flavor": NEW})
    assert (await nova_admin.get("flavors/c1/os-flavor-access")).status == 404
    add = {"addTenantAccess": {"tenant": "p"}}
    assert (await nova_admin.at("2.7").post("flavors/c1/action", add)).status == 409


async def test_extra_specs(nova_admin: Nova, as_alice: Nova, as_rita: Nova) -> None:
    await nova_admin.post("flavors", {"flavor": NEW})
    specs = {"extra_specs": {"hw:numa_nodes": "1", "hw:cpu_policy": "shared", "n": 2}}
    set_ = (await nova_admin.post("flavors/c1/os-extra_specs", specs)).check(
        "flavors_extra_specs.set_get_flavor_extra_specs"
    )
    assert set_["extra_specs"]["n"] == "2"
    assert (await as_alice.post("flavors/c1/os-extra_specs", specs)).status == 403
    shown = (await as_rita.get("flavors/c1/os-extra_specs")).check(
        "flavors_extra_specs.set_get_flavor_extra_specs"
    )
    assert shown == set_
    one = await as_rita.get("flavors/c1/os-extra_specs/hw:numa_nodes")
    assert one.check("flavors_extra_specs.set_get_flavor_extra_specs_key") == {"hw:numa_nodes": "1"}
    path = "flavors/c1/os-extra_specs/hw:numa_nodes"
    assert (await nova_admin.put(path, {"hw:numa_nodes": "2"})).body == {"hw:numa_nodes": "2"}
    assert (await nova_admin.put(path, {"other": "2"})).status == 400
    assert (await nova_admin.put(path, {"hw:numa_nodes": "2", "b": "c"})).status == 400
    assert (await as_alice.put(path, {"hw:numa_nodes": "3"})).status == 403
    assert (await as_alice.delete(path)).status == 403
    (await nova_admin.delete(path)).check("flavors_extra_specs.unset_flavor_extra_specs")
    assert (await nova_admin.delete(path)).status == 404
    assert (await as_rita.get(path)).status == 404


async def test_later_microversions_show_description_extra_specs_and_swap(
    nova_admin: Nova,
) -> None:
    new: dict[str, Any] = NEW | {"description": "for tests"}
    assert (await nova_admin.post("flavors", {"flavor": new})).status == 400
    created = (await nova_admin.at("2.55").post("flavors", {"flavor": new})).check(
        "flavors.create_update_get_flavor_details", "v2_55"
    )
    assert created["flavor"]["description"] == "for tests"
    changed = {"flavor": {"description": "changed"}}
    assert (await nova_admin.at("2.54").put("flavors/c1", changed)).status == 404
    updated = (await nova_admin.at("2.55").put("flavors/c1", changed)).check(
        "flavors.create_update_get_flavor_details", "v2_55"
    )
    assert updated["flavor"]["description"] == "changed"
    listed = (await nova_admin.at("2.55").get("flavors")).check("flavors.list_flavors", "v2_55")
    assert {f["id"]: f["description"] for f in listed["flavors"]}["c1"] == "changed"
    renamed = {"flavor": {"name": "other"}}
    assert (await nova_admin.at("2.55").put("flavors/c1", renamed)).status == 400
    shown = (await nova_admin.at("2.75").get("flavors/c1")).check(
        "flavors.create_update_get_flavor_details", "v2_61"
    )
    assert shown["flavor"]["extra_specs"] == {} and shown["flavor"]["swap"] == 0
