"""Security groups and rules through Neutron's API: the same data as Nova's proxy."""

from tests.integration.compute.conftest import Nova
from tests.integration.identity.conftest import Client, Person
from tests.integration.network.conftest import Neutron


async def test_groups_and_rules(
    net_alice: Neutron, net_bob: Neutron, net_admin: Neutron, client: Client, alice: Person
) -> None:
    group = await net_alice.create("security_group", name="web", description="http")
    assert {(r["direction"], r["ethertype"]) for r in group["security_group_rules"]} == {
        ("egress", "IPv4"),
        ("egress", "IPv6"),
    }
    rule = await net_alice.create(
        "security_group_rule",
        security_group_id=group["id"],
        direction="ingress",
        ethertype="IPv4",
        protocol="tcp",
        port_range_min=80,
        port_range_max=80,
        remote_ip_prefix="10.0.0.0/8",
    )
    assert rule["protocol"] == "tcp" and rule["remote_ip_prefix"] == "10.0.0.0/8"
    again = await net_alice.post(
        "security-group-rules",
        {
            "security_group_rule": {
                "security_group_id": group["id"],
                "direction": "ingress",
                "ethertype": "IPv4",
                "protocol": "tcp",
                "port_range_min": 80,
                "port_range_max": 80,
                "remote_ip_prefix": "10.0.0.0/8",
            }
        },
    )
    assert again.status == 409
    nova = Nova(client, alice.token)
    proxied = (await nova.get(f"os-security-groups/{group['id']}")).body["security_group"]
    assert [(r["from_port"], r["ip_range"]) for r in proxied["rules"]] == [
        (80, {"cidr": "10.0.0.0/8"})
    ]
    listed = (await net_alice.get(f"security-group-rules?security_group_id={group['id']}")).body
    assert len(listed["security_group_rules"]) == 3
    assert (await net_bob.get(f"security-group-rules/{rule['id']}")).status == 404
    assert (await net_bob.delete(f"security-groups/{group['id']}")).status == 404
    renamed = await net_alice.put(
        f"security-groups/{group['id']}", {"security_group": {"name": "default"}}
    )
    assert renamed.status == 409
    assert (await net_alice.delete(f"security-group-rules/{rule['id']}")).status == 204
    assert (await net_alice.delete(f"security-groups/{group['id']}")).status == 204
    [default] = (await net_alice.get("security-groups?name=default")).body["security_groups"]
    assert (await net_alice.delete(f"security-groups/{default['id']}")).status == 409
    assert (
        await net_alice.post("security-groups", {"security_group": {"name": "default"}})
    ).status == 409
    assert (await net_admin.delete(f"security-groups/{default['id']}")).status == 204


async def test_rule_validation(net_alice: Neutron) -> None:
    group = await net_alice.create("security_group", name="g")

    async def refused(**rule: object) -> str:
        body = {"security_group_id": group["id"], "direction": "ingress", "ethertype": "IPv4"}
        reply = await net_alice.post("security-group-rules", {"security_group_rule": body | rule})
        assert reply.status == 400, reply.body
        message: str = reply.body["NeutronError"]["message"]
        return message

    assert "protocol" in await refused(protocol="bad_protocol_name")
    assert "Invalid value for port -16" in await refused(
        protocol="tcp", port_range_min=-16, port_range_max=80
    )
    assert "port_range_min must be <= port_range_max" in await refused(
        protocol="tcp", port_range_min=80, port_range_max=79
    )
    assert "Invalid value for ICMP code" in await refused(
        protocol="icmp", port_range_min=1, port_range_max=256
    )
    assert "ICMP type (port-range-min) is missing" in await refused(
        protocol="icmp", port_range_max=6
    )
    assert "Conflicting value ethertype" in await refused(protocol="tcp", remote_ip_prefix="::/0")
    await refused(protocol="tcp", remote_ip_prefix="192.168.1./24")
    await refused(remote_ip_prefix="10.0.0.0/8", remote_group_id=group["id"])
    await refused(direction="sideways")
    missing = await net_alice.post(
        "security-group-rules",
        {"security_group_rule": {"security_group_id": "nope", "direction": "ingress"}},
    )
    assert missing.status == 404
