"""A port's packet filter from its security groups: rules copied, remote groups resolved
to their members' addresses of the rule's ethertype, no filtering without port security."""

from datetime import UTC, datetime

from service.compute.directory import SecurityGroupRule
from service.compute.hypervisor import PacketRule
from service.network.directory import FixedIp, Port
from service.network.packet_filters import filter_name, is_port_filter, packet_filter

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


def test_the_filter_is_named_after_the_port_and_keeps_its_uuid() -> None:
    spec = packet_filter(port(), [], {})
    assert spec.name == filter_name(PORT_ID) and is_port_filter(spec.name)
    assert spec.uuid == PORT_ID and spec.enforcing and spec.rules == ()
    assert spec.addresses == ("10.0.0.5",)
    assert not is_port_filter("clean-traffic")


def test_without_port_security_nothing_is_filtered() -> None:
    spec = packet_filter(port(port_security=False), [rule(protocol="tcp")], {})
    assert not spec.enforcing and spec.rules == ()


def test_rules_are_copied() -> None:
    found = packet_filter(
        port(),
        [
            rule(protocol="tcp", port_range_min=22, port_range_max=22),
            rule(direction="egress", remote_ip_prefix="192.0.2.0/24"),
        ],
        {},
    )
    assert found.rules == (
        PacketRule(direction="egress", remote="192.0.2.0/24"),
        PacketRule(direction="ingress", protocol="tcp", port_min=22, port_max=22),
    )


def test_a_remote_group_becomes_its_members_addresses_of_the_rules_ethertype() -> None:
    members = {"web": ["10.0.0.7", "10.0.0.6", "fd00::7", "10.0.0.7"]}
    v4 = packet_filter(port(), [rule(protocol="icmp", remote_group_id="web")], members)
    assert v4.rules == (
        PacketRule(direction="ingress", protocol="icmp", remote="10.0.0.6/32"),
        PacketRule(direction="ingress", protocol="icmp", remote="10.0.0.7/32"),
    )
    v6 = packet_filter(port(), [rule(ethertype="IPv6", remote_group_id="web")], members)
    assert v6.rules == (PacketRule(direction="ingress", ethertype="IPv6", remote="fd00::7/128"),)


def test_a_remote_group_without_members_allows_nothing() -> None:
    assert packet_filter(port(), [rule(remote_group_id="empty")], {}).rules == ()
