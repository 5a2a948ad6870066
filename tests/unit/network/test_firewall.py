"""Security group rules as nftables transactions: what each port's chains hold, rules
rendered for every protocol form, and a change written as the difference only."""

import pytest

from service.network.firewall import FAMILIES, Table, changes, removal, rule_text, tables, whole
from service.network.packet_filters import HostFilters, PacketFilter, PacketRule

PORT = "5f0c1a7e-2b3d-4c5e-8f90-a1b2c3d4e5f6"
OTHER = "7a1d2c3b-0000-4000-8000-000000000002"
ICMP_IN = PacketRule(direction="ingress", protocol=1)


def port(port_id: str = PORT, *rules: PacketRule, **fields: object) -> PacketFilter:
    values: dict[str, object] = {
        "port_id": port_id,
        "device": f"tap{port_id[:11]}",
        "mac": "52:54:00:00:00:01" if port_id == PORT else "52:54:00:00:00:02",
        "bridge": "kb-n",
        "addresses": ("10.0.0.5",) if port_id == PORT else ("10.0.0.6",),
        "rules": rules,
    }
    return PacketFilter(**{**values, **fields})  # type: ignore[arg-type]


def test_a_port_gets_a_chain_each_way_in_each_family_keyed_by_tap_mac_and_address() -> None:
    found = tables(HostFilters(filters=(port(PORT, ICMP_IN),)))
    bridge, ip = found["bridge"], found["ip"]
    assert bridge.maps == {
        "from_guest": frozenset({('"tap5f0c1a7e-2b"', f"goto from-{PORT}")}),
        "to_guest": frozenset({('"tap5f0c1a7e-2b"', f"goto to-{PORT}")}),
    }
    assert ip.maps == {
        "egress": frozenset({('"kb-n" . 52:54:00:00:00:01', f"goto egress-{PORT}")}),
        "ingress": frozenset({('"kb-n" . 10.0.0.5', f"goto ingress-{PORT}")}),
    }
    assert bridge.chains[f"from-{PORT}"] == (
        "ether saddr != 52:54:00:00:00:01 drop",
        "arp saddr ether != 52:54:00:00:00:01 drop",
        "arp saddr ip { 0.0.0.0, 10.0.0.5 } accept",
        "ip saddr { 10.0.0.5 } accept",
        "ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 accept",
        "drop",
    )
    assert bridge.chains[f"to-{PORT}"] == (
        "ether type arp accept",
        "ip daddr { 10.0.0.5 } accept",
        "ip daddr 255.255.255.255 udp sport 67 udp dport 68 accept",
        "drop",
    )
    assert ip.chains[f"ingress-{PORT}"] == (
        "ct state established,related accept",
        "ct state invalid drop",
        "udp sport 67 udp dport 68 accept",
        "ip protocol 1 accept",
        "drop",
    )
    assert ip.chains[f"egress-{PORT}"] == (
        "udp sport 67 udp dport 68 drop",
        "ct state established,related accept",
        "ct state invalid drop",
        "udp sport 68 udp dport 67 accept",
        "drop",
    )


def test_a_port_without_port_security_or_addresses() -> None:
    found = tables(HostFilters(filters=(port(OTHER, enforcing=False),)))
    assert all(t == Table(chains={}, maps=t.maps) for t in found.values())
    assert all(not elements for t in found.values() for elements in t.maps.values())
    bare = tables(HostFilters(filters=(port(PORT, addresses=()),)))
    assert "ip saddr { 10.0.0.5 } accept" not in bare["bridge"].chains[f"from-{PORT}"]
    assert bare["ip"].maps["ingress"] == frozenset()


@pytest.mark.parametrize(
    ("rule", "text"),
    [
        (PacketRule(direction="ingress"), "accept"),
        (
            PacketRule(direction="ingress", protocol=6, port_min=22, port_max=22),
            "ip protocol 6 th dport 22 accept",
        ),
        (
            PacketRule(direction="egress", protocol=17, port_min=1000, port_max=2000),
            "ip protocol 17 th dport 1000-2000 accept",
        ),
        (PacketRule(direction="ingress", protocol=6), "ip protocol 6 accept"),
        (
            PacketRule(direction="ingress", protocol=1, port_min=8, port_max=0),
            "ip protocol 1 icmp type 8 icmp code 0 accept",
        ),
        (
            PacketRule(direction="ingress", protocol=1, port_min=8),
            "ip protocol 1 icmp type 8 accept",
        ),
        (
            PacketRule(direction="ingress", protocol=47, remote_ip_prefix="192.0.2.0/24"),
            "ip saddr 192.0.2.0/24 ip protocol 47 accept",
        ),
        (
            PacketRule(direction="egress", remote_group="web"),
            "ip daddr @group-web accept",
        ),
        (
            PacketRule(direction="ingress", protocol=1, remote_group="web"),
            "ip saddr @group-web ip protocol 1 accept",
        ),
    ],
)
def test_rules(rule: PacketRule, text: str) -> None:
    assert rule_text(rule) == text


def test_a_remote_group_is_a_set_of_its_members() -> None:
    web = PacketRule(direction="ingress", remote_group="web")
    found = tables(HostFilters(filters=(port(PORT, web),), groups={"web": ("10.0.0.7",)}))
    assert found["ip"].sets == {"group-web": frozenset({"10.0.0.7"})}
    assert "ip saddr @group-web accept" in found["ip"].chains[f"ingress-{PORT}"]


def test_a_rule_change_refills_only_the_chains_it_touches() -> None:
    before = tables(HostFilters(filters=(port(PORT), port(OTHER))))
    after = tables(HostFilters(filters=(port(PORT, ICMP_IN), port(OTHER))))
    assert changes("bridge", "t", before["bridge"], after["bridge"]) == []
    assert changes("ip", "t", before["ip"], after["ip"]) == [
        f"flush chain ip t ingress-{PORT}",
        *(f"add rule ip t ingress-{PORT} {r}" for r in after["ip"].chains[f"ingress-{PORT}"]),
    ]


def test_a_membership_change_is_a_set_update() -> None:
    web = PacketRule(direction="ingress", remote_group="web")
    before = tables(HostFilters(filters=(port(PORT, web),), groups={"web": ("10.0.0.7",)}))
    after = tables(HostFilters(filters=(port(PORT, web),), groups={"web": ("10.0.0.8",)}))
    assert changes("ip", "t", before["ip"], after["ip"]) == [
        "delete element ip t group-web { 10.0.0.7 }",
        "add element ip t group-web { 10.0.0.8 }",
    ]


def test_a_port_that_goes_leaves_its_elements_then_its_chains_and_sets() -> None:
    web = PacketRule(direction="egress", remote_group="web")
    before = tables(HostFilters(filters=(port(PORT), port(OTHER, web)), groups={"web": ()}))
    after = tables(HostFilters(filters=(port(PORT),)))
    assert changes("ip", "t", before["ip"], after["ip"]) == [
        'delete element ip t egress { "kb-n" . 52:54:00:00:00:02 }',
        'delete element ip t ingress { "kb-n" . 10.0.0.6 }',
        f"delete chain ip t egress-{OTHER}",
        f"delete chain ip t ingress-{OTHER}",
        "delete set ip t group-web",
    ]


def test_the_whole_tables_are_written_anew_and_removed_in_one_transaction() -> None:
    script = whole("t", tables(HostFilters(filters=(port(PORT),))))
    for family in FAMILIES:
        head = f"add table {family} t\ndelete table {family} t\ntable {family} t {{\n"
        assert head in script
        assert f"add chain {family} t " in script
    assert removal("t") == (
        "add table bridge t\ndelete table bridge t\nadd table ip t\ndelete table ip t\n"
    )


def test_nothing_unchecked_reaches_nft() -> None:
    with pytest.raises(ValueError, match="MAC"):
        tables(HostFilters(filters=(port(PORT, mac="52:54:00:00:00:01; flush ruleset"),)))
    with pytest.raises(ValueError, match=r"10\.0\.0\.05"):
        tables(HostFilters(filters=(port(PORT, addresses=("10.0.0.05",)),)))
