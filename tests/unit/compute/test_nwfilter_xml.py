"""Security group rules as libvirt nwfilter XML: every protocol form, direction, port
range, ICMP type/code, remote prefix, the rules the filter does not express (IPv6 among
them: it is dropped whole), and the anti-spoofing layer under them."""

import xml.etree.ElementTree as ET

import pytest

from service.compute.hypervisor import PacketFilter, PacketRule
from service.compute.nwfilter_xml import filter_xml, rule_element, same_filter

UUID = "0b1d8f7e-4c1a-4e55-9a6e-0c8f6a1b2c3d"


def rules_of(xml: str) -> list[tuple[str, str, str, str, dict[str, str]]]:
    """(action, direction, priority, protocol element, its attributes) per rule."""
    return [
        (
            rule.get("action", ""),
            rule.get("direction", ""),
            rule.get("priority", ""),
            p.tag,
            dict(p.attrib),
        )
        for rule in ET.fromstring(xml).iterfind("rule")
        for p in rule
    ]


def test_a_filter_without_port_security_is_empty() -> None:
    spec = PacketFilter(name="f", uuid=UUID, enforcing=False, addresses=("10.0.0.5",))
    root = ET.fromstring(filter_xml(spec))
    assert root.tag == "filter" and root.get("name") == "f" and root.get("chain") == "root"
    assert root.findtext("uuid") == UUID
    assert list(root) == [root.find("uuid")]


def test_no_rules_allows_dhcp_as_a_client_and_drops_all_other_ip() -> None:
    assert rules_of(filter_xml(PacketFilter(name="f", uuid=UUID))) == [
        ("drop", "out", "100", "udp", {"srcportstart": "67", "dstportstart": "68"}),
        ("accept", "out", "100", "udp", {"srcportstart": "68", "dstportstart": "67"}),
        ("accept", "in", "100", "udp", {"srcportstart": "67", "dstportstart": "68"}),
        ("drop", "inout", "1000", "all", {}),
    ]


def test_the_guest_sends_only_from_its_addresses_and_only_ipv4_and_arp() -> None:
    spec = PacketFilter(name="f", uuid=UUID, addresses=("10.0.0.5", "10.0.1.9"))
    [clean] = ET.fromstring(filter_xml(spec)).iterfind("filterref")
    assert clean.get("filter") == "clean-traffic"
    assert [(p.get("name"), p.get("value")) for p in clean] == [
        ("IP", "10.0.0.5"),
        ("IP", "10.0.1.9"),
    ]
    with pytest.raises(ValueError):
        filter_xml(PacketFilter(name="f", uuid=UUID, addresses=("10.0.0.5' x='",)))


def test_rules_sit_between_dhcp_and_the_drops_in_a_stable_order() -> None:
    a = PacketRule(direction="ingress", protocol="tcp", port_min=22, port_max=22)
    b = PacketRule(direction="egress")
    first = filter_xml(PacketFilter(name="f", uuid=UUID, rules=(a, b, a)))
    assert filter_xml(PacketFilter(name="f", uuid=UUID, rules=(b, a))) == first
    found = rules_of(first)
    assert [r[3] for r in found] == ["udp", "udp", "udp", "all", "tcp", "all"]
    assert found[3] == ("accept", "out", "500", "all", {})
    assert found[4] == ("accept", "in", "500", "tcp", {"dstportstart": "22"})


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (PacketRule(direction="ingress"), ("all", {})),
        (PacketRule(direction="ingress", protocol="any"), ("all", {})),
        (PacketRule(direction="ingress", protocol="tcp"), ("tcp", {})),
        (PacketRule(direction="ingress", protocol="TCP"), ("tcp", {})),
        (PacketRule(direction="ingress", protocol="6"), ("tcp", {})),
        (PacketRule(direction="ingress", protocol="17"), ("udp", {})),
        (PacketRule(direction="ingress", protocol="132"), ("sctp", {})),
        (PacketRule(direction="ingress", protocol="136"), ("udplite", {})),
        (PacketRule(direction="ingress", protocol="50"), ("esp", {})),
        (PacketRule(direction="ingress", protocol="ah"), ("ah", {})),
        (PacketRule(direction="ingress", protocol="2"), ("igmp", {})),
        (PacketRule(direction="ingress", protocol="1"), ("icmp", {})),
        (
            PacketRule(direction="ingress", protocol="tcp", port_min=80, port_max=80),
            ("tcp", {"dstportstart": "80"}),
        ),
        (
            PacketRule(direction="egress", protocol="udp", port_min=1000, port_max=2000),
            ("udp", {"dstportstart": "1000", "dstportend": "2000"}),
        ),
        (
            PacketRule(direction="ingress", protocol="sctp", port_min=5000),
            ("sctp", {"dstportstart": "5000"}),
        ),
        (
            PacketRule(direction="ingress", protocol="icmp", port_min=8, port_max=0),
            ("icmp", {"type": "8", "code": "0"}),
        ),
        (PacketRule(direction="ingress", protocol="icmp", port_min=8), ("icmp", {"type": "8"})),
        (PacketRule(direction="ingress", protocol="esp", port_min=1, port_max=2), ("esp", {})),
        (
            PacketRule(direction="ingress", protocol="tcp", remote="10.0.0.0/24"),
            ("tcp", {"srcipaddr": "10.0.0.0", "srcipmask": "24"}),
        ),
        (
            PacketRule(direction="egress", protocol="icmp", remote="192.168.1.7/32"),
            ("icmp", {"dstipaddr": "192.168.1.7", "dstipmask": "32"}),
        ),
        (
            PacketRule(direction="ingress", remote="10.1.2.3/8"),
            ("all", {"srcipaddr": "10.0.0.0", "srcipmask": "8"}),
        ),
    ],
)
def test_rule_elements(rule: PacketRule, expected: tuple[str, dict[str, str]]) -> None:
    assert rule_element(rule) == expected
    direction = {"ingress": "in", "egress": "out"}[rule.direction]
    found = rules_of(filter_xml(PacketFilter(name="f", uuid=UUID, rules=(rule,))))
    assert ("accept", direction, "500", *expected) in found


@pytest.mark.parametrize(
    "rule",
    [
        PacketRule(direction="sideways"),
        PacketRule(direction="ingress", ethertype="IPX"),
        PacketRule(direction="ingress", protocol="gre"),
        PacketRule(direction="ingress", protocol="47"),
        PacketRule(direction="ingress", protocol="icmpv6"),
        PacketRule(direction="ingress", protocol="icmp", ethertype="IPv6"),
        PacketRule(direction="ingress", protocol="igmp", ethertype="IPv6"),
        PacketRule(direction="ingress", remote="fd00::/64"),
        PacketRule(direction="ingress", ethertype="IPv6", remote="10.0.0.0/8"),
        PacketRule(direction="ingress", ethertype="IPv6"),
        PacketRule(direction="ingress", ethertype="IPv6", protocol="tcp"),
        PacketRule(direction="ingress", ethertype="IPv6", protocol="icmpv6"),
        PacketRule(direction="ingress", ethertype="IPv6", protocol="58"),
        PacketRule(direction="ingress", ethertype="IPv6", protocol="tcp", remote="fd00::/64"),
    ],
)
def test_rules_nwfilter_cannot_express_allow_nothing(rule: PacketRule) -> None:
    assert rule_element(rule) is None
    assert filter_xml(PacketFilter(name="f", uuid=UUID, rules=(rule,))) == filter_xml(
        PacketFilter(name="f", uuid=UUID)
    )


AS_LIBVIRT_SHOWS_IT = f"""<filter name='f' chain='root'>
  <uuid>{UUID}</uuid>
  <filterref filter='clean-traffic'>
    <parameter name='IP' value='10.0.0.5'/>
  </filterref>
  <rule action='drop' direction='out' priority='100'>
    <udp srcportstart='67' dstportstart='68'/>
  </rule>
  <rule action='accept' direction='out' priority='100'>
    <udp srcportstart='68' dstportstart='67'/>
  </rule>
  <rule action='accept' direction='in' priority='100'>
    <udp srcportstart='67' dstportstart='68'/>
  </rule>
  <rule action='accept' direction='in' priority='500'>
    <tcp srcipaddr='10.0.0.0' srcipmask='8' dstportstart='22' dstportend='80'/>
  </rule>
  <rule action='drop' direction='inout' priority='1000'>
    <all/>
  </rule>
</filter>
"""


def test_a_filter_is_the_same_as_libvirt_shows_it_and_any_change_is_seen() -> None:
    rule = PacketRule(
        direction="ingress", protocol="tcp", port_min=22, port_max=80, remote="10.0.0.0/8"
    )
    spec = PacketFilter(name="f", uuid=UUID, rules=(rule,), addresses=("10.0.0.5",))
    assert same_filter(filter_xml(spec), AS_LIBVIRT_SHOWS_IT)
    other = PacketFilter(name="f", uuid=UUID, rules=(rule,), addresses=("10.0.0.6",))
    assert not same_filter(filter_xml(other), AS_LIBVIRT_SHOWS_IT)
    assert not same_filter(filter_xml(PacketFilter(name="f", uuid=UUID)), AS_LIBVIRT_SHOWS_IT)
