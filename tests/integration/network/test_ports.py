"""Ports through /network/v2.0: addresses from the pools or asked for, exact under
concurrency and freed on delete, MAC addresses, security groups, scoping, and a create's
audit record committed with it."""

import asyncio
import ipaddress
from typing import Any

from events.postgres import PostgresEventStore
from service.audit.events import AuditRecorded
from tests.integration.identity.conftest import Person
from tests.integration.network.conftest import Neutron


async def _network(neutron: Neutron, cidr: str = "10.0.0.0/24", **subnet: Any) -> tuple[str, str]:
    network = await neutron.create("network")
    made = await neutron.create(
        "subnet", network_id=network["id"], cidr=cidr, ip_version=4, **subnet
    )
    return network["id"], made["id"]


async def test_port_lifecycle(net_alice: Neutron, alice: Person) -> None:
    network_id, subnet_id = await _network(net_alice)
    port = await net_alice.create("port", network_id=network_id, name="p1")
    assert port["status"] == "DOWN" and port["admin_state_up"] is True
    assert port["mac_address"].startswith("fa:16:3e:")
    [fixed] = port["fixed_ips"]
    assert fixed["subnet_id"] == subnet_id
    assert ipaddress.ip_address(fixed["ip_address"]) in ipaddress.ip_network("10.0.0.0/24")
    assert fixed["ip_address"] not in ("10.0.0.0", "10.0.0.1", "10.0.0.255")
    [default] = (await net_alice.get("security-groups?name=default")).body["security_groups"]
    assert port["security_groups"] == [default["id"]]
    assert port["project_id"] == alice.project_id and "binding:host_id" not in port
    changed = await net_alice.put(
        f"ports/{port['id']}",
        {
            "port": {
                "name": "p2",
                "admin_state_up": False,
                "fixed_ips": [{"ip_address": "10.0.0.77"}],
            }
        },
    )
    assert changed.status == 200, changed.body
    assert changed.body["port"]["fixed_ips"] == [
        {"subnet_id": subnet_id, "ip_address": "10.0.0.77"}
    ]
    listed = (await net_alice.get("ports?fixed_ips=ip_address=10.0.0.77")).body["ports"]
    assert [p["id"] for p in listed] == [port["id"]]
    taken = await net_alice.post(
        "ports", {"port": {"network_id": network_id, "fixed_ips": [{"ip_address": "10.0.0.77"}]}}
    )
    assert taken.status == 409
    in_use = await net_alice.delete(f"subnets/{subnet_id}")
    assert in_use.status == 409
    assert (await net_alice.delete(f"networks/{network_id}")).status == 409
    assert (await net_alice.delete(f"ports/{port['id']}")).status == 204
    again = await net_alice.create(
        "port", network_id=network_id, fixed_ips=[{"ip_address": "10.0.0.77"}]
    )
    assert again["fixed_ips"][0]["ip_address"] == "10.0.0.77"
    assert (await net_alice.delete(f"ports/{again['id']}")).status == 204
    assert (await net_alice.delete(f"networks/{network_id}")).status == 204


async def test_concurrent_ports_never_share_an_address(net_alice: Neutron) -> None:
    """A /28 has 13 addresses in its pool: 20 racing creates give 13 distinct addresses
    and 7 refusals, and each address freed by a delete is handed out again."""
    network_id, _ = await _network(net_alice, "10.5.0.0/28")

    async def create() -> Any:
        return await net_alice.post("ports", {"port": {"network_id": network_id}})

    replies = await asyncio.gather(*(create() for _ in range(20)))
    made = [r.body["port"] for r in replies if r.status == 201]
    assert sorted(r.status for r in replies) == [201] * 13 + [409] * 7
    addresses = [p["fixed_ips"][0]["ip_address"] for p in made]
    assert len(set(addresses)) == 13
    expected = {str(a) for a in ipaddress.ip_network("10.5.0.0/28").hosts()} - {"10.5.0.1"}
    assert set(addresses) == expected
    await asyncio.gather(*(net_alice.delete(f"ports/{p['id']}") for p in made[:5]))
    again = await asyncio.gather(*(create() for _ in range(8)))
    assert sorted(r.status for r in again) == [201] * 5 + [409] * 3
    reused = {r.body["port"]["fixed_ips"][0]["ip_address"] for r in again if r.status == 201}
    assert reused == {p["fixed_ips"][0]["ip_address"] for p in made[:5]}


async def test_wide_subnet_race(net_alice: Neutron) -> None:
    network_id, _ = await _network(net_alice, "10.6.0.0/16")
    replies = await asyncio.gather(
        *(net_alice.post("ports", {"port": {"network_id": network_id}}) for _ in range(40))
    )
    assert {r.status for r in replies} == {201}
    addresses = {r.body["port"]["fixed_ips"][0]["ip_address"] for r in replies}
    assert len(addresses) == 40


async def test_macs_groups_and_fixed_ip_choices(net_alice: Neutron, net_bob: Neutron) -> None:
    network_id, subnet_id = await _network(
        net_alice, allocation_pools=[{"start": "10.0.0.100", "end": "10.0.0.110"}]
    )
    in_pool = await net_alice.create(
        "port", network_id=network_id, fixed_ips=[{"subnet_id": subnet_id}]
    )
    address = ipaddress.ip_address(in_pool["fixed_ips"][0]["ip_address"])
    assert ipaddress.ip_address("10.0.0.100") <= address <= ipaddress.ip_address("10.0.0.110")
    mac = await net_alice.create("port", network_id=network_id, mac_address="fa:16:3e:00:00:01")
    assert mac["mac_address"] == "fa:16:3e:00:00:01"
    dup = await net_alice.post(
        "ports", {"port": {"network_id": network_id, "mac_address": "fa:16:3e:00:00:01"}}
    )
    assert dup.status == 409
    bare = await net_alice.create("port", network_id=network_id, security_groups=[])
    assert bare["security_groups"] == []
    group = await net_alice.create("security_group", name="web")
    grouped = await net_alice.put(
        f"ports/{bare['id']}", {"port": {"security_groups": [group["id"]]}}
    )
    assert grouped.body["port"]["security_groups"] == [group["id"]]
    in_use = await net_alice.delete(f"security-groups/{group['id']}")
    assert in_use.status == 409
    no_security = await net_alice.put(
        f"ports/{bare['id']}", {"port": {"port_security_enabled": False}}
    )
    assert no_security.status == 409
    wrong_subnet = await net_alice.post(
        "ports", {"port": {"network_id": network_id, "fixed_ips": [{"subnet_id": "nope"}]}}
    )
    assert wrong_subnet.status == 400
    assert (await net_bob.get(f"ports/{bare['id']}")).status == 404
    assert (await net_bob.get("ports")).body["ports"] == []
    on_theirs = await net_bob.post("ports", {"port": {"network_id": network_id}})
    assert on_theirs.status == 404
    bulk = await net_alice.post(
        "ports", {"ports": [{"network_id": network_id}, {"network_id": network_id}]}
    )
    assert bulk.status == 201 and len(bulk.body["ports"]) == 2
    assert (
        await net_alice.post("ports", {"port": {"network_id": network_id, "x": 1}})
    ).status == 400


async def test_port_on_a_shared_network(net_admin: Neutron, net_bob: Neutron, bob: Person) -> None:
    shared = await net_admin.create("network", shared=True)
    await net_admin.create("subnet", network_id=shared["id"], cidr="192.168.0.0/24", ip_version=4)
    port = await net_bob.create("port", network_id=shared["id"])
    assert port["project_id"] == bob.project_id and port["fixed_ips"]
    shown = (await net_admin.get(f"ports/{port['id']}")).body["port"]
    assert shown["binding:vif_type"] == "unbound"


async def _audit(store: PostgresEventStore, request_id: str) -> AuditRecorded:
    """The request's only audit record."""
    [record] = await store.read_stream(f"audit-{request_id}")
    assert isinstance(record.event, AuditRecorded)
    return record.event


async def test_a_port_create_commits_its_audit_record_with_it(
    net_alice: Neutron, store: PostgresEventStore
) -> None:
    network = await net_alice.create("network", name="n")
    made = await net_alice.post("ports", {"port": {"network_id": network["id"]}})
    assert made.status == 201, made.body
    request_id = made.headers["X-Openstack-Request-Id"]
    record = await _audit(store, request_id)
    port_id = made.body["port"]["id"]
    assert (record.status, record.outcome) == (201, "success")
    assert (record.target.type, record.target.id) == ("port", port_id)
    [created] = await store.read_stream(f"port-{port_id}")
    [audited] = await store.read_stream(f"audit-{request_id}")
    assert audited.recorded_at == created.recorded_at  # one append
    two = {"ports": [{"network_id": network["id"]}, {"network_id": network["id"]}]}
    bulk = await net_alice.post("ports", two)
    assert bulk.status == 201, bulk.body
    record = await _audit(store, bulk.headers["X-Openstack-Request-Id"])
    assert record.target.id == bulk.body["ports"][0]["id"]
    refused = await net_alice.post("ports", {"port": {"network_id": "nowhere"}})
    assert refused.status == 404
    record = await _audit(store, refused.headers["X-Openstack-Request-Id"])
    assert (record.status, record.outcome) == (404, "failure")
