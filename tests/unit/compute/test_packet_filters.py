"""A port's packet filter from its security groups: IPv4 rules copied (protocols as
numbers, remote groups by name), keyed by the port's tap, no filtering without port
security."""

from datetime import UTC, datetime

import pytest

from service.compute.directory import SecurityGroupRule
from service.network.directory import FixedIp, Port
from service.network.packet_filters import PacketRule, packet_filter, protocol_number

PORT_ID = "5f0c1a7e-2b3d-4c5e-8f90-a1b2c3d4e5f6"
WHEN = datetime(2026, 1, 1, tzinfo=UTC)


def port(*, port_security: bool = True) -> Port:
    return Port(
        id=PORT_ID,
        network_id="n",
        project_id="p",
        name="",
        description="",
        mac_address="52:54:00:00:00:01",
        admin_state_up=True,
        device_id="s",
        device_owner="",
        fixed_ips=[FixedIp(subnet_id="sn", ip_address="10.0.0.5")],
        security_groups=["g"],
        port_security_enabled=port_security,
        binding_host_id="",
        auto_delete=False,
        created_at=WHEN,
        updated_at=WHEN,
        revision_number=1,
    )


def rule(**fields: object) -> SecurityGroupRule:
    values: dict[str, object] = {
        "id": "r",
        "group_id": "g",
        "direction": "ingress",
        "ethertype": "IPv4",
        "protocol": None,
        "port_range_min": None,
        "port_range_max": None,
        "remote_ip_prefix": None,
        "remote_group_id": None,
    }
    return SecurityGroupRule(**{**values, **fields})  # type: ignore[arg-type]


def test_the_filter_is_keyed_by_the_ports_tap_and_holds_its_mac_and_addresses() -> None:
    spec = packet_filter(port(), [])
    assert spec.port_id == PORT_ID and spec.device == "tap5f0c1a7e-2b"
    assert spec.mac == "52:54:00:00:00:01" and spec.bridge == "kb-n"
    assert spec.addresses == ("10.0.0.5",) and spec.enforcing and spec.rules == ()


def test_without_port_security_nothing_is_filtered() -> None:
    spec = packet_filter(port(port_security=False), [rule(protocol="tcp")])
    assert not spec.enforcing and spec.rules == ()


def test_rules_are_copied_with_protocol_numbers_and_any_prefix_dropped() -> None:
    found = packet_filter(
        port(),
        [
            rule(protocol="tcp", port_range_min=22, port_range_max=22),
            rule(direction="egress", remote_ip_prefix="192.0.2.0/24"),
            rule(direction="egress", protocol="132", remote_ip_prefix="0.0.0.0/0"),
            rule(protocol="icmp", remote_group_id="web"),
        ],
    )
    assert set(found.rules) == {
        PacketRule(direction="egress", protocol=132),
        PacketRule(direction="egress", remote_ip_prefix="192.0.2.0/24"),
        PacketRule(direction="ingress", protocol=1, remote_group="web"),
        PacketRule(direction="ingress", protocol=6, port_min=22, port_max=22),
    }


def test_rules_that_allow_nothing_on_ipv4_are_left_out() -> None:
    rules = [
        rule(ethertype="IPv6"),
        rule(remote_ip_prefix="fd00::/64"),
        rule(protocol="no-such-protocol"),
    ]
    assert packet_filter(port(), rules).rules == ()
    assert protocol_number("ANY") is None and protocol_number("vrrp") == 112
    with pytest.raises(ValueError, match="ipx"):
        protocol_number("ipx")
