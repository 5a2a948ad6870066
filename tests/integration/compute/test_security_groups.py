"""Security groups through Nova's proxy (and the minimal Neutron listing the same data):
the lazily created `default` group, CRUD, rules, protections, and project isolation."""

from typing import Any

from events.postgres import PostgresEventStore
from tests.integration.compute.conftest import Nova, add_server
from tests.integration.identity.conftest import Person

GROUP = {"security_group": {"name": " web servers ", "description": "for the web"}}


async def _create(nova: Nova, name: str = "web") -> dict[str, Any]:
    body = {"security_group": {"name": name, "description": f"{name} group"}}
    created: dict[str, Any] = (await nova.post("os-security-groups", body)).check(
        "security_groups.create_security_group"
    )["security_group"]
    return created


async def test_default_group_is_made_on_first_use(as_rita: Nova, alice: Person) -> None:
    listed = (await as_rita.get("os-security-groups")).check("security_groups.list_security_groups")
    (default,) = listed["security_groups"]
    assert (default["name"], default["tenant_id"]) == ("default", alice.project_id)
    assert [r["group"] for r in default["rules"]] == [
        {"name": "default", "tenant_id": alice.project_id}
    ] * 2
    again = (await as_rita.get("os-security-groups")).body
    assert again == listed


async def test_create_show_update_delete(as_alice: Nova, as_rita: Nova) -> None:
    created = (await as_alice.post("os-security-groups", GROUP)).check(
        "security_groups.create_security_group"
    )["security_group"]
    assert created["name"] == " web servers " and created["rules"] == []
    shown = (await as_rita.get(f"os-security-groups/{created['id']}")).check(
        "security_groups.get_security_group"
    )
    assert shown["security_group"] == created
    listed = (await as_rita.get("os-security-groups")).body["security_groups"]
    assert created in listed and len(listed) == 2
    change = {"security_group": {"name": "web", "description": "changed"}}
    updated = (await as_alice.put(f"os-security-groups/{created['id']}", change)).check(
        "security_groups.update_security_group"
    )
    assert updated["security_group"]["description"] == "changed"
    assert (await as_rita.post("os-security-groups", GROUP)).status == 403
    assert (await as_rita.delete(f"os-security-groups/{created['id']}")).status == 403
    deleted = await as_alice.delete(f"os-security-groups/{created['id']}")
    deleted.check("security_groups.delete_security_group")
    assert (await as_rita.get(f"os-security-groups/{created['id']}")).status == 404


async def test_what_cannot_be_done(as_alice: Nova, as_bob: Nova) -> None:
    default = (await as_alice.get("os-security-groups")).body["security_groups"][0]
    assert (await as_alice.delete(f"os-security-groups/{default['id']}")).status == 400
    rename = {"security_group": {"name": "other", "description": ""}}
    assert (await as_alice.put(f"os-security-groups/{default['id']}", rename)).status == 400
    missing = "os-security-groups/7c9a0b5c-2b8e-4d6a-9a53-1f0c5a8c6f11"
    assert (await as_alice.get(missing)).status == 404
    assert (await as_alice.delete(missing)).status == 404
    assert (await as_alice.put(missing, GROUP)).status == 404
    assert (await as_alice.delete("os-security-groups/")).status == 404
    assert (
        await as_alice.post("os-security-groups", {"security_group": {"name": "x"}})
    ).status == 400
    long = {"security_group": {"name": "x" * 256, "description": ""}}
    assert (await as_alice.post("os-security-groups", long)).status == 400
    # another project's group is not there for bob
    assert (await as_bob.get(f"os-security-groups/{default['id']}")).status == 404
    assert (await as_bob.delete(f"os-security-groups/{default['id']}")).status == 404
    bobs = (await as_bob.get("os-security-groups")).body["security_groups"]
    assert [g["id"] for g in bobs] != [default["id"]] and len(bobs) == 1
    assert (await as_alice.at("2.36").get("os-security-groups")).status == 404


async def test_a_group_in_use_is_kept(
    as_alice: Nova, alice: Person, store: PostgresEventStore
) -> None:
    group = await _create(as_alice)
    await add_server(store, alice, "s1", security_groups=("default", "web"))
    assert (await as_alice.delete(f"os-security-groups/{group['id']}")).status == 400


async def test_rules(as_alice: Nova, as_bob: Nova, as_rita: Nova, alice: Person) -> None:
    web, db = await _create(as_alice, "web"), await _create(as_alice, "db")
    ssh = {"parent_group_id": web["id"], "ip_protocol": "tcp", "from_port": 22,
           "to_port": 22, "cidr": "10.0.0.0/8"}  # fmt: skip
    added = (await as_alice.post("os-security-group-rules", {"security_group_rule": ssh})).check(
        "security_groups.create_security_group_rule"
    )["security_group_rule"]
    assert added["ip_range"] == {"cidr": "10.0.0.0/8"} and added["group"] == {}
    from_web = {"parent_group_id": db["id"], "ip_protocol": "tcp", "from_port": "5432",
                "to_port": 5432, "group_id": web["id"]}  # fmt: skip
    grouped = await as_alice.post("os-security-group-rules", {"security_group_rule": from_web})
    assert grouped.check("security_groups.create_security_group_rule")["security_group_rule"][
        "group"
    ] == {"name": "web", "tenant_id": alice.project_id}
    ping = {"parent_group_id": web["id"], "ip_protocol": "icmp", "from_port": -1, "to_port": -1}
    icmp = (await as_alice.post("os-security-group-rules", {"security_group_rule": ping})).body
    assert icmp["security_group_rule"]["ip_range"] == {"cidr": "0.0.0.0/0"}
    assert (icmp["security_group_rule"]["from_port"], icmp["security_group_rule"]["to_port"]) == (
        -1, -1,
    )  # fmt: skip
    shown = (await as_alice.get(f"os-security-groups/{web['id']}")).check(
        "security_groups.get_security_group"
    )
    assert [r["id"] for r in shown["security_group"]["rules"]] == sorted(
        [added["id"], icmp["security_group_rule"]["id"]]
    )
    bad: list[dict[str, Any]] = [
        ssh,  # a duplicate
        ssh | {"from_port": 0},
        ssh | {"from_port": 30, "to_port": 20},
        ssh | {"ip_protocol": "gre"},
        ssh | {"cidr": "10.0.0.0/99"},
        ssh | {"cidr": "10.0.0.0/0"},
        ping | {"from_port": 300},
    ]
    for rule in bad:
        reply = await as_alice.post("os-security-group-rules", {"security_group_rule": rule})
        assert reply.status == 400, rule
    elsewhere = await as_bob.post("os-security-group-rules", {"security_group_rule": ssh})
    assert elsewhere.status == 404
    assert (
        await as_rita.post("os-security-group-rules", {"security_group_rule": ssh})
    ).status == 403
    assert (await as_bob.delete(f"os-security-group-rules/{added['id']}")).status == 404
    removed = await as_alice.delete(f"os-security-group-rules/{added['id']}")
    removed.check("security_groups.delete_security_group_rule")
    assert (await as_alice.delete(f"os-security-group-rules/{added['id']}")).status == 404


async def test_a_rule_keeps_its_cidr_as_given_and_needs_group_ids(as_alice: Nova) -> None:
    web = await _create(as_alice, "web")
    given = {"parent_group_id": web["id"], "ip_protocol": "tcp", "cidr": "10.2.3.124/24"}
    given |= {"from_port": 22, "to_port": 22}
    added = (await as_alice.post("os-security-group-rules", {"security_group_rule": given})).body
    assert added["security_group_rule"]["ip_range"] == {"cidr": "10.2.3.124/24"}
    for ids in ({"parent_group_id": "not-a-group"}, {"group_id": "not-a-group"}):
        reply = await as_alice.post("os-security-group-rules", {"security_group_rule": given | ids})
        assert reply.status == 400, ids


async def test_rules_admitting_a_deleted_group_go_with_it(as_alice: Nova) -> None:
    web, db = await _create(as_alice, "web"), await _create(as_alice, "db")
    from_web = {"parent_group_id": db["id"], "ip_protocol": "tcp", "group_id": web["id"]}
    from_web |= {"from_port": 5432, "to_port": 5432}
    await as_alice.post("os-security-group-rules", {"security_group_rule": from_web})
    assert (await as_alice.delete(f"os-security-groups/{web['id']}")).status == 202
    shown = (await as_alice.get(f"os-security-groups/{db['id']}")).body["security_group"]
    assert shown["rules"] == []


async def test_neutron_lists_the_same_groups(
    as_alice: Nova, as_bob: Nova, nova_admin: Nova, alice: Person
) -> None:
    web = await _create(as_alice)
    mine = (await as_alice.neutron("security-groups")).body["security_groups"]
    assert sorted(g["name"] for g in mine) == ["default", "web"]
    default = next(g for g in mine if g["name"] == "default")
    assert {(r["direction"], r["ethertype"]) for r in default["security_group_rules"]} == {
        ("ingress", "IPv4"), ("ingress", "IPv6"), ("egress", "IPv4"), ("egress", "IPv6"),
    }  # fmt: skip
    query = f"security-groups?project_id={alice.project_id}&name=default"
    found = (await nova_admin.neutron(query)).body["security_groups"]
    assert [g["id"] for g in found] == [default["id"]]
    assert (await as_bob.neutron(query)).body == {"security_groups": []}
    one = await as_alice.neutron(f"security-groups/{web['id']}")
    assert one.body["security_group"]["project_id"] == alice.project_id
    missing = await as_bob.neutron(f"security-groups/{web['id']}")
    assert missing.status == 404 and "NeutronError" in missing.body
    assert (await as_alice.neutron("networks")).body == {"networks": []}
