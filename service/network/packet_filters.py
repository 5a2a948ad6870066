"""A port's packet filter from its security groups: the IPv4 rules of every group the port
is in, its tap device, MAC and IPv4 addresses (the only ones it may send from), and no
filtering at all without port security. A remote group stays a name: its members'
addresses are the host's `groups`, so a membership change changes one set, not the
filters of every port whose rules name the group."""

import ipaddress
from collections.abc import Iterable
from typing import Any

import msgspec

from service.compute.directory import SecurityGroupRule, select
from service.network.directory import Port
from service.network.interfaces import bridge, tap_device
from service.network.protocols import PROTOCOLS


class PacketRule(msgspec.Struct, frozen=True, kw_only=True):
    """IPv4 traffic a filter lets through (with its replies): `direction` "ingress" (to
    the guest) or "egress", of IP `protocol` (a number; None: any), to destination ports
    `port_min`..`port_max` (ICMP: type and code), from or to `remote_ip_prefix` (a CIDR)
    or the addresses of the ports in `remote_group` (neither: anywhere)."""

    direction: str
    protocol: int | None = None
    port_min: int | None = None
    port_max: int | None = None
    remote_ip_prefix: str | None = None
    remote_group: str | None = None


class PacketFilter(msgspec.Struct, frozen=True, kw_only=True):
    """What a port's interface lets through: DHCP and ARP, replies, and the traffic
    `rules` allow, sent only from its `mac` and `addresses`; all else is dropped.
    `enforcing` False lets everything through (a port without port security)."""

    port_id: str
    device: str
    mac: str
    bridge: str
    addresses: tuple[str, ...] = ()
    enforcing: bool = True
    rules: tuple[PacketRule, ...] = ()


class HostFilters(msgspec.Struct, frozen=True, kw_only=True):
    """The filters of a host's ports and, by remote group id, the IPv4 addresses of the
    group's member ports (wherever they run)."""

    filters: tuple[PacketFilter, ...] = ()
    groups: dict[str, tuple[str, ...]] = {}


def protocol_number(protocol: str | None) -> int | None:
    """The IP protocol number of a rule's protocol (None: any); ValueError for one that
    Neutron does not know."""
    if protocol is None or protocol.lower() == "any":
        return None
    if protocol.isdigit() and 0 <= int(protocol) <= 255:
        return int(protocol)
    try:
        return PROTOCOLS[protocol.lower()]
    except KeyError:
        raise ValueError(f"no IPv4 protocol {protocol!r}") from None


def packet_rule(rule: SecurityGroupRule) -> PacketRule | None:
    """The rule as the filter applies it; None for one that allows nothing on IPv4 (an
    IPv6 rule, an IPv6 prefix, an unknown protocol): Kumo's subnets are IPv4 and the
    filter drops every IPv6 frame."""
    if rule.ethertype != "IPv4" or rule.direction not in ("ingress", "egress"):
        return None
    try:
        protocol = protocol_number(rule.protocol)
    except ValueError:
        return None
    prefix = rule.remote_ip_prefix
    if prefix is not None:
        network = ipaddress.ip_network(prefix, strict=False)
        if network.version != 4:
            return None
        prefix = None if network.prefixlen == 0 else str(network)
    return PacketRule(
        direction=rule.direction,
        protocol=protocol,
        port_min=rule.port_range_min,
        port_max=rule.port_range_max,
        remote_ip_prefix=prefix,
        remote_group=rule.remote_group_id,
    )


def ipv4_addresses(port: Port) -> tuple[str, ...]:
    """The port's fixed IPv4 addresses, sorted."""
    return tuple(
        sorted(
            {
                ip.ip_address
                for ip in port.fixed_ips
                if ipaddress.ip_address(ip.ip_address).version == 4
            }
        )
    )


def packet_filter(port: Port, rules: Iterable[SecurityGroupRule]) -> PacketFilter:
    """The filter of `port` given the rules of its groups."""
    found = {r for r in map(packet_rule, rules) if r is not None}
    return PacketFilter(
        port_id=port.id,
        device=tap_device(port.id),
        mac=port.mac_address.lower(),
        bridge=bridge(port.network_id),
        addresses=ipv4_addresses(port),
        enforcing=port.port_security_enabled,
        rules=tuple(sorted(found, key=repr)) if port.port_security_enabled else (),
    )


async def host_filters(db: Any, ports: list[Port]) -> HostFilters:
    """The filters of `ports` and the members of the remote groups their rules name, read
    from the security group read models in two queries."""
    groups = sorted({g for port in ports for g in port.security_groups})
    rules = await select(db, SecurityGroupRule, "group_id = ANY($1::text[])", groups)
    by_group: dict[str, list[SecurityGroupRule]] = {}
    for rule in rules:
        by_group.setdefault(rule.group_id, []).append(rule)
    filters = tuple(
        packet_filter(port, [r for g in port.security_groups for r in by_group.get(g, [])])
        for port in ports
    )
    remote = sorted({r.remote_group for f in filters for r in f.rules if r.remote_group})
    members: dict[str, set[str]] = {group: set() for group in remote}
    for member in await select(db, Port, "security_groups && $1::text[]", remote):
        for group in set(member.security_groups) & members.keys():
            members[group].update(ipv4_addresses(member))
    return HostFilters(
        filters=filters, groups={g: tuple(sorted(found)) for g, found in members.items()}
    )
