"""What the microversions after 2.26 change, each at the version before it and at its
own: request validation, paging and the shapes of responses (Tempest's schemas)."""

from typing import Any

import pytest

from events.postgres import PostgresEventStore
from tests.integration.compute.conftest import Nova, Person, add_host, add_server

NET = "00000000-0000-4000-8000-0000000000ee"


def new_server(**extra: Any) -> dict[str, Any]:
    return {"server": {"name": "s", "imageRef": "nowhere", "flavorRef": "1", **extra}}


async def refused(nova: Nova, body: dict[str, Any]) -> str:
    """The message of the 400 a server create with `body` gets."""
    reply = await nova.post("servers", body)
    assert reply.status == 400, reply.body
    return str(reply.body["badRequest"]["message"])


@pytest.mark.parametrize(
    ("version", "networks", "expected"),
    [
        (None, "none", "field/attribute networks"),  # "auto" and "none" only from 2.37
        ("2.36", "auto", "field/attribute networks"),
        ("2.37", "some", "field/attribute networks"),
        ("2.37", None, "'networks' is a required property"),
        ("2.37", [{"uuid": "not-a-uuid"}], "network uuid is not in proper format"),
        (None, [{"uuid": NET, "colour": "red"}], "('colour' was unexpected)"),
        ("2.31", [{"uuid": NET, "tag": "nic1"}], "('tag' was unexpected)"),
        ("2.32", [{"uuid": NET, "tag": "nic1"}], "Device tagging is not supported"),
        ("2.36", [{"uuid": NET, "tag": "a/b"}], "field/attribute tag"),
        ("2.37", [{"uuid": NET, "tag": "nic1"}], "('tag' was unexpected)"),
        ("2.42", [{"uuid": NET, "tag": "nic1"}], "Device tagging is not supported"),
    ],
)
async def test_networks_of_a_new_server_by_version(
    as_alice: Nova, version: str | None, networks: Any, expected: str
) -> None:
    nova = as_alice.at(version) if version else as_alice
    body = new_server() if networks is None else new_server(networks=networks)
    assert expected in await refused(nova, body)


async def test_block_device_tags_only_at_2_32_and_from_2_42(as_alice: Nova) -> None:
    mapping = {"boot_index": 0, "uuid": NET, "source_type": "image", "tag": "disk1"}
    body = new_server(networks="none", block_device_mapping_v2=[mapping])
    assert "('tag' was unexpected)" in await refused(as_alice.at("2.37"), body)
    assert "Device tagging" in await refused(as_alice.at("2.42"), body)
    del body["server"]["networks"]  # only "auto" or "none" from 2.37
    assert "Device tagging" in await refused(as_alice.at("2.32"), body)


async def test_an_unknown_status_finds_nothing_before_2_38_and_is_refused_after(
    store: PostgresEventStore, alice: Person, as_alice: Nova
) -> None:
    await add_server(store, alice, "00000000-0000-4000-8000-0000000000a1", host="h1")
    assert (await as_alice.at("2.37").get("servers?status=SLEEPY")).body == {"servers": []}
    reply = await as_alice.at("2.38").get("servers?status=SLEEPY")
    assert (reply.status, reply.body["badRequest"]["message"]) == (400, "Invalid status value")
    for status, found in (("active", 1), ("SHELVED", 0), ("REVERT_RESIZE", 0)):
        listed = (await as_alice.at("2.38").get(f"servers?status={status}")).body["servers"]
        assert len(listed) == found, status


async def test_hypervisors_are_paged_from_2_33(nova_admin: Nova, store: PostgresEventStore) -> None:
    for name in ("cn1", "cn2", "cn3"):
        await add_host(store, name)
    before = (await nova_admin.at("2.32").get("os-hypervisors?limit=1")).body
    assert len(before["hypervisors"]) == 3 and "hypervisors_links" not in before
    nova = nova_admin.at("2.33")
    first = (await nova.get("os-hypervisors?limit=2")).check(
        "hypervisors.list_search_hypervisors", "v2_33"
    )
    assert [h["id"] for h in first["hypervisors"]] == [1, 2]
    [link] = first["hypervisors_links"]
    assert link["rel"] == "next" and link["href"].endswith(
        "/compute/v2.1/os-hypervisors?limit=2&marker=2"
    )
    rest = (await nova.get("os-hypervisors/detail?limit=2&marker=2")).check(
        "hypervisors.list_hypervisors_detail", "v2_33"
    )
    assert [h["hypervisor_hostname"] for h in rest["hypervisors"]] == ["cn3"]
    assert "hypervisors_links" not in rest
    assert (await nova.get("os-hypervisors?marker=9")).status == 400
    assert (await nova.get("os-hypervisors?limit=-1")).status == 400


async def test_keypairs_are_paged_by_name_from_2_35(as_alice: Nova) -> None:
    for name in ("kc", "ka", "kb"):
        assert (await as_alice.post("os-keypairs", {"keypair": {"name": name}})).status == 200
    nova = as_alice.at("2.35")
    first = (await nova.get("os-keypairs?limit=2")).body
    assert [k["keypair"]["name"] for k in first["keypairs"]] == ["ka", "kb"]
    assert first["keypairs_links"][0]["href"].endswith("os-keypairs?limit=2&marker=kb")
    rest = (await nova.get("os-keypairs?marker=kb")).body
    assert [k["keypair"]["name"] for k in rest["keypairs"]] == ["kc"]
    assert "keypairs_links" not in rest
    assert len((await as_alice.at("2.34").get("os-keypairs?limit=1")).body["keypairs"]) == 3


async def test_tenant_usage_is_paged_by_server_from_2_40(
    store: PostgresEventStore, alice: Person, nova_admin: Nova
) -> None:
    servers = [f"00000000-0000-4000-8000-00000000000{i}" for i in range(3)]
    for server_id in servers:
        await add_server(store, alice, server_id, host="h1")
    path = f"os-simple-tenant-usage/{alice.project_id}?start=2000-01-01T00:00:00"
    before = (await nova_admin.at("2.39").get(f"{path}&limit=1")).body
    assert len(before["tenant_usage"]["server_usages"]) == 3
    assert "tenant_usage_links" not in before
    nova = nova_admin.at("2.40")
    first = (await nova.get(f"{path}&limit=2")).check("tenant_usages.get_tenant_usage")
    assert [s["instance_id"] for s in first["tenant_usage"]["server_usages"]] == servers[:2]
    marker = f"marker={servers[1]}"
    assert first["tenant_usage_links"][0]["href"].endswith(f"limit=2&{marker}")
    rest = (await nova.get(f"{path}&{marker}")).body
    assert [s["instance_id"] for s in rest["tenant_usage"]["server_usages"]] == servers[2:]
    listed = (await nova.get("os-simple-tenant-usage?start=2000-01-01T00:00:00&limit=1")).body
    assert listed["tenant_usages"][0]["total_hours"] >= 0 and "tenant_usages_links" in listed
    assert (await nova.get(f"{path}&marker=nothing")).status == 400


async def test_aggregates_show_their_uuid_from_2_41(nova_admin: Nova) -> None:
    created = await nova_admin.at("2.41").post("os-aggregates", {"aggregate": {"name": "a"}})
    uuid = created.check("aggregates.create_aggregate", "v2_41")["aggregate"]["uuid"]
    shown = (await nova_admin.at("2.41").get("os-aggregates/1")).check(
        "aggregates.get_aggregate", "v2_41"
    )
    assert shown["aggregate"]["uuid"] == uuid
    listed = (await nova_admin.at("2.40").get("os-aggregates")).check("aggregates.list_aggregates")
    assert "uuid" not in listed["aggregates"][0]


async def test_servers_embed_their_flavor_from_2_47(
    store: PostgresEventStore, alice: Person, as_alice: Nova
) -> None:
    server_id = "00000000-0000-4000-8000-0000000000a1"
    await add_server(store, alice, server_id, host="h1")
    before = (await as_alice.at("2.46").get(f"servers/{server_id}")).body["server"]["flavor"]
    assert before["id"] == "1" and before["links"][0]["rel"] == "bookmark"
    shown = (await as_alice.at("2.47").get(f"servers/{server_id}")).check(
        "servers.get_server", "v2_47"
    )
    embedded = {"vcpus": 1, "ram": 128, "disk": 1, "ephemeral": 0, "swap": 0}
    assert shown["server"]["flavor"] == embedded | {"original_name": "m1.nano", "extra_specs": {}}
    listed = (await as_alice.at("2.47").get("servers/detail")).check(
        "servers.list_servers_detail", "v2_47"
    )
    assert listed["servers"][0]["flavor"] == shown["server"]["flavor"]
    reply = await as_alice.at("2.47").put(f"servers/{server_id}", {"server": {"name": "n"}})
    assert reply.check("servers.update_server", "v2_47")["server"]["flavor"]["ram"] == 128


async def test_fixed_ip_actions_are_gone_from_2_44(
    store: PostgresEventStore, alice: Person, as_alice: Nova
) -> None:
    server_id = "00000000-0000-4000-8000-0000000000a1"
    await add_server(store, alice, server_id, host="h1")
    body = {"addFixedIp": {"networkId": NET}}
    assert (await as_alice.at("2.43").post(f"servers/{server_id}/action", body)).status == 400
    assert (await as_alice.at("2.44").post(f"servers/{server_id}/action", body)).status == 404


async def test_interfaces_take_a_tag_from_2_49_which_kumo_refuses(
    store: PostgresEventStore, alice: Person, as_alice: Nova
) -> None:
    server_id = "00000000-0000-4000-8000-0000000000a1"
    await add_server(store, alice, server_id, host="h1")
    body = {"interfaceAttachment": {"net_id": NET, "tag": "nic1"}}
    path = f"servers/{server_id}/os-interface"
    before = await as_alice.at("2.48").post(path, body)
    assert before.status == 400 and "('tag' was unexpected)" in before.body["badRequest"]["message"]
    after = await as_alice.at("2.49").post(path, body)
    assert after.status == 400 and "Device tagging" in after.body["badRequest"]["message"]


async def test_volume_extended_events_are_taken_from_2_51(
    store: PostgresEventStore, alice: Person, nova_admin: Nova
) -> None:
    server_id = "00000000-0000-4000-8000-0000000000a1"
    await add_server(store, alice, server_id, host="h1")
    event = {"name": "volume-extended", "server_uuid": server_id, "tag": NET}
    body = {"events": [event]}
    assert (await nova_admin.at("2.50").post("os-server-external-events", body)).status == 400
    reply = await nova_admin.at("2.51").post("os-server-external-events", body)
    assert (reply.status, reply.body["events"][0]["code"]) == (200, 200)


async def test_tags_at_create_only_from_2_52(as_alice: Nova) -> None:
    body = new_server(networks="none", tags=["a"])
    assert "('tags' was unexpected)" in await refused(as_alice.at("2.51"), body)
    body["server"]["tags"] = ["a/b"]
    assert "tags" in await refused(as_alice.at("2.52"), body)
    body["server"]["tags"] = [str(i) for i in range(51)]
    assert "tags" in await refused(as_alice.at("2.52"), body)


async def test_hypervisors_go_by_uuid_from_2_53(
    store: PostgresEventStore, alice: Person, nova_admin: Nova
) -> None:
    await add_host(store, "cn1")
    await add_host(store, "cn2")
    await add_server(store, alice, "00000000-0000-4000-8000-0000000000a1", host="cn1")
    nova = nova_admin.at("2.53")
    listed = (await nova.get("os-hypervisors?with_servers=true")).check(
        "hypervisors.list_search_hypervisors", "v2_53"
    )["hypervisors"]
    assert [len(h.get("servers", ())) for h in listed] == [1, 0]
    first, second = (h["id"] for h in listed)
    detail = (await nova.get("os-hypervisors/detail")).check(
        "hypervisors.list_hypervisors_detail", "v2_53"
    )["hypervisors"]
    assert [h["id"] for h in detail] == [first, second] and "servers" not in detail[0]
    services = (await nova.get("os-services")).body["services"]
    assert detail[0]["service"]["id"] == services[0]["id"] != first
    shown = (await nova.get(f"os-hypervisors/{first}?with_servers=1")).check(
        "hypervisors.get_hypervisor", "v2_53"
    )["hypervisor"]
    assert shown["servers"] == [
        {
            "uuid": "00000000-0000-4000-8000-0000000000a1",
            "name": "00000000-0000-4000-8000-0000000000a1",
        }
    ]
    page = (await nova.get("os-hypervisors?limit=1")).body
    assert page["hypervisors_links"][0]["href"].endswith(f"marker={first}")
    rest = (await nova.get(f"os-hypervisors?marker={first}")).body["hypervisors"]
    assert [h["id"] for h in rest] == [second]
    pattern = (await nova.get("os-hypervisors?hypervisor_hostname_pattern=cn2")).body
    assert [h["hypervisor_hostname"] for h in pattern["hypervisors"]] == ["cn2"]
    for path, status in (
        ("os-hypervisors/1", 400),
        (f"os-hypervisors/{NET}", 404),
        ("os-hypervisors?hypervisor_hostname_pattern=nothing", 404),
        ("os-hypervisors?hypervisor_hostname_pattern=cn&limit=1", 400),
        ("os-hypervisors?colour=red", 400),
        ("os-hypervisors/cn1/search", 404),
        ("os-hypervisors/cn1/servers", 404),
    ):
        assert (await nova.get(path)).status == status, path
    older = (await nova_admin.at("2.52").get("os-hypervisors/cn1/servers")).body
    assert older["hypervisors"][0]["id"] == 1


async def test_services_go_by_uuid_from_2_53(nova_admin: Nova, store: PostgresEventStore) -> None:
    await add_host(store, "cn1")
    nova = nova_admin.at("2.53")
    [service] = (await nova.get("os-services")).check("services.list_services", "v2_53")["services"]
    path = f"os-services/{service['id']}"
    disabled = await nova.put(path, {"status": "disabled", "disabled_reason": "maintenance"})
    shown = disabled.check("services.update_service", "v2_53")["service"]
    expected = (service["id"], "disabled", "maintenance")
    assert (shown["id"], shown["status"], shown["disabled_reason"]) == expected
    enabled = (await nova.put(path, {"status": "enabled"})).body["service"]
    assert (enabled["status"], enabled["disabled_reason"]) == ("enabled", None)
    for where, body, status in (
        (f"os-services/{NET}", {"status": "enabled"}, 404),
        ("os-services/1", {"status": "enabled"}, 400),
        (path, {}, 400),
        (path, {"status": "enabled", "disabled_reason": "why"}, 400),
        (path, {"status": "asleep"}, 400),
        (path, {"forced_down": True}, 501),
        ("os-services/disable", {"host": "cn1", "binary": "nova-compute"}, 400),
    ):
        assert (await nova.put(where, body)).status == status, (where, body)
    assert (await nova_admin.at("2.52").put(path, {"status": "enabled"})).status == 404


async def test_personality_is_refused_from_2_57(as_alice: Nova) -> None:
    files = [{"path": "/etc/motd", "contents": "aGk="}]
    body = new_server(networks="none", personality=files)
    assert "('personality' was unexpected)" in await refused(as_alice.at("2.57"), body)
    assert "personality" not in await refused(as_alice.at("2.56"), body)


async def test_trusted_image_certificates_from_2_63_are_refused_and_shown_as_none(
    store: PostgresEventStore, alice: Person, as_alice: Nova
) -> None:
    body = new_server(networks="none", trusted_image_certificates=None)
    assert "('trusted_image_certificates' was unexpected)" in await refused(
        as_alice.at("2.62"), body
    )
    body["server"]["trusted_image_certificates"] = ["cert-1"]
    assert "certificate validation is not supported" in await refused(as_alice.at("2.63"), body)
    server_id = "00000000-0000-4000-8000-0000000000a1"
    await add_server(store, alice, server_id, host="h1")
    shown = (await as_alice.at("2.63").get(f"servers/{server_id}")).check(
        "servers.get_server", "v2_63"
    )
    assert shown["server"]["trusted_image_certificates"] is None
    reply = await as_alice.at("2.63").put(f"servers/{server_id}", {"server": {"name": "n"}})
    assert (
        reply.check("servers.update_server", "v2_63")["server"]["trusted_image_certificates"]
        is None
    )
    rebuild = {"rebuild": {"imageRef": NET, "trusted_image_certificates": ["cert-1"]}}
    assert (await as_alice.at("2.63").post(f"servers/{server_id}/action", rebuild)).status == 400


async def test_servers_changed_before_a_time_from_2_66(
    store: PostgresEventStore, alice: Person, as_alice: Nova
) -> None:
    await add_server(store, alice, "00000000-0000-4000-8000-0000000000a1", host="h1")
    past, future = "2000-01-01T00:00:00Z", "2999-01-01T00:00:00Z"
    nova = as_alice.at("2.66")
    assert len((await nova.get(f"servers?changes-before={future}")).body["servers"]) == 1
    assert (await nova.get(f"servers?changes-before={past}")).body["servers"] == []
    ignored = (await as_alice.at("2.65").get(f"servers?changes-before={past}")).body
    assert len(ignored["servers"]) == 1
    window = f"servers/detail?changes-since={future}&changes-before={past}"
    assert (await nova.get(window)).status == 400
    actions = "servers/00000000-0000-4000-8000-0000000000a1/os-instance-actions"
    assert len((await nova.get(f"{actions}?changes-before={future}")).body["instanceActions"]) == 1
    assert (await nova.get(f"{actions}?changes-before={past}")).body["instanceActions"] == []
    assert (await as_alice.at("2.65").get(f"{actions}?changes-before={past}")).status == 400


async def test_block_device_volume_types_from_2_67_are_refused(as_alice: Nova) -> None:
    mapping = {"boot_index": 0, "uuid": NET, "source_type": "image", "volume_type": "ssd"}
    body = new_server(networks="none", block_device_mapping_v2=[mapping])
    assert "('volume_type' was unexpected)" in await refused(as_alice.at("2.66"), body)
    assert "no block storage" in await refused(as_alice.at("2.67"), body)


async def test_servers_show_their_group_from_2_71(
    store: PostgresEventStore, alice: Person, as_alice: Nova
) -> None:
    group = {"server_group": {"name": "g", "policies": ["affinity"]}}
    group_id = (await as_alice.post("os-server-groups", group)).body["server_group"]["id"]
    server_id = "00000000-0000-4000-8000-0000000000a1"
    await add_server(store, alice, server_id, host="h1", server_group_id=group_id)
    nova = as_alice.at("2.71")
    shown = (await nova.get(f"servers/{server_id}")).check("servers.get_server", "v2_71")
    assert shown["server"]["server_groups"] == [group_id]
    updated = await nova.put(f"servers/{server_id}", {"server": {"name": "n"}})
    assert updated.check("servers.update_server", "v2_71")["server"]["server_groups"] == [group_id]
    listed = (await nova.get("servers/detail")).check("servers.list_servers_detail", "v2_71")
    assert "server_groups" not in listed["servers"][0]
    assert "server_groups" not in (await as_alice.at("2.70").get(f"servers/{server_id}")).body
    assert (await as_alice.delete(f"os-server-groups/{group_id}")).status == 204
    assert (await nova.get(f"servers/{server_id}")).body["server"]["server_groups"] == []


async def test_a_lock_gives_its_reason_from_2_73(
    store: PostgresEventStore, alice: Person, as_alice: Nova
) -> None:
    server_id = "00000000-0000-4000-8000-0000000000a1"
    await add_server(store, alice, server_id, host="h1")
    path = f"servers/{server_id}/action"
    reason = {"lock": {"locked_reason": "maintenance"}}
    assert (await as_alice.at("2.72").post(path, reason)).status == 202
    shown = (await as_alice.at("2.73").get(f"servers/{server_id}")).check(
        "servers.get_server", "v2_73"
    )
    assert (shown["server"]["locked"], shown["server"]["locked_reason"]) == (True, None)
    assert "locked_reason" not in (await as_alice.at("2.72").get(f"servers/{server_id}")).body
    assert (await as_alice.post(path, {"unlock": None})).status == 202
    assert (await as_alice.at("2.73").post(path, reason)).status == 202
    listed = (await as_alice.at("2.73").get("servers/detail?locked=true")).check(
        "servers.list_servers_detail", "v2_73"
    )
    assert listed["servers"][0]["locked_reason"] == "maintenance"
    assert (await as_alice.at("2.73").get("servers?locked=false")).body["servers"] == []
    assert (await as_alice.at("2.73").get("servers?locked=maybe")).status == 400
    for bad in ({"locked_reason": ""}, {"reason": "x"}, {"locked_reason": None}):
        assert (await as_alice.at("2.73").post(path, {"lock": bad})).status == 400, bad
