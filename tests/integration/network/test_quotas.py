"""Network quotas: shown, set and reset by an admin, and enforced exactly when creates
race at the limit."""

import asyncio

from tests.integration.identity.conftest import Person
from tests.integration.network.conftest import Neutron


async def test_quota_show_update_details_reset(
    net_admin: Neutron, net_alice: Neutron, net_bob: Neutron, alice: Person
) -> None:
    path = f"quotas/{alice.project_id}"
    shown = (await net_alice.get(path)).body["quota"]
    assert shown["network"] == 100 and shown["port"] == 500 and shown["floatingip"] == 50
    assert (await net_bob.get(path)).status == 403
    assert (await net_alice.put(path, {"quota": {"network": 1}})).status == 403
    updated = await net_admin.put(path, {"quota": {"network": 2, "port": 3}})
    assert updated.status == 200 and updated.body["quota"]["network"] == 2
    listed = (await net_admin.get("quotas")).body["quotas"]
    assert [q["project_id"] for q in listed] == [alice.project_id]
    await net_alice.create("network")
    details = (await net_alice.get(f"{path}/details")).body["quota"]
    assert details["network"] == {"limit": 2, "used": 1, "reserved": 0}
    assert (await net_admin.put(path, {"quota": {"network": "x"}})).status == 400
    assert (await net_admin.put(path, {"quota": {"routers": 1}})).status == 400
    assert (await net_admin.delete(path)).status == 204
    assert (await net_alice.get(path)).body["quota"]["network"] == 100
    assert (await net_admin.get("quotas")).body["quotas"] == []


async def test_racing_creates_stop_exactly_at_the_limit(
    net_admin: Neutron, net_alice: Neutron, alice: Person
) -> None:
    await net_admin.put(f"quotas/{alice.project_id}", {"quota": {"network": 4, "port": 5}})
    replies = await asyncio.gather(
        *(net_alice.post("networks", {"network": {"name": f"n{i}"}}) for i in range(10))
    )
    assert sorted(r.status for r in replies) == [201] * 4 + [409] * 6
    over = next(r for r in replies if r.status == 409)
    assert "Quota exceeded for resources: ['network']" in over.body["NeutronError"]["message"]
    network_id = next(r for r in replies if r.status == 201).body["network"]["id"]
    await net_alice.create("subnet", network_id=network_id, cidr="10.0.0.0/24", ip_version=4)
    ports = await asyncio.gather(
        *(net_alice.post("ports", {"port": {"network_id": network_id}}) for _ in range(9))
    )
    assert sorted(r.status for r in ports) == [201] * 5 + [409] * 4
    used = (await net_alice.get(f"quotas/{alice.project_id}/details")).body["quota"]
    assert used["port"]["used"] == 5 and used["network"]["used"] == 4


async def test_racing_security_group_and_rule_creates_stop_exactly_at_the_limit(
    net_admin: Neutron, net_alice: Neutron, alice: Person
) -> None:
    # The project's default group (4 rules) is made by its first group create; each new
    # group brings 2 egress rules.
    limits = {"security_group": 4, "security_group_rule": 100}
    await net_admin.put(f"quotas/{alice.project_id}", {"quota": limits})
    await net_alice.create("security_group", name="first")
    groups = await asyncio.gather(
        *(
            net_alice.post("security-groups", {"security_group": {"name": f"g{i}"}})
            for i in range(8)
        )
    )
    assert sorted(r.status for r in groups) == [201] * 2 + [409] * 6
    over = next(r for r in groups if r.status == 409)
    assert (
        "Quota exceeded for resources: ['security_group']" in over.body["NeutronError"]["message"]
    )

    used = (await net_alice.get(f"quotas/{alice.project_id}/details")).body["quota"]
    rules = used["security_group_rule"]["used"]
    assert (used["security_group"]["used"], rules) == (4, 4 + 3 * 2)
    await net_admin.put(f"quotas/{alice.project_id}", {"quota": {"security_group_rule": rules + 3}})
    group_id = next(r for r in groups if r.status == 201).body["security_group"]["id"]
    added = await asyncio.gather(
        *(
            net_alice.post(
                "security-group-rules",
                {
                    "security_group_rule": {
                        "security_group_id": group_id,
                        "direction": "ingress",
                        "protocol": "tcp",
                        "port_range_min": port,
                        "port_range_max": port,
                    }
                },
            )
            for port in range(1000, 1008)
        )
    )
    assert sorted(r.status for r in added) == [201] * 3 + [409] * 5
    details = (await net_alice.get(f"quotas/{alice.project_id}/details")).body["quota"]
    assert details["security_group_rule"]["used"] == rules + 3
