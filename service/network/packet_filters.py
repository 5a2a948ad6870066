"""A port's packet filter from its security groups: the rules of every group the port is
in, a remote group resolved to the addresses of the ports in that group, the port's own
IPv4 addresses (the only ones it may send from), and no filtering at all without port
security."""

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

from service.compute.directory import SecurityGroupRule, select
from service.compute.hypervisor import PacketFilter, PacketRule
from service.network.directory import Port


def filter_name(port_id: str) -> str:
    """The name of a port's packet filter on a host."""
    return f"kumo-port-{port_id}"


def is_port_filter(name: str) -> bool:
    """Whether a host's packet filter is one of a port's (and so Kumo's to remove)."""
    return name.startswith("kumo-port-")


def packet_filter(
    port: Port, rules: Iterable[SecurityGroupRule], members: Mapping[str, Iterable[str]]
) -> PacketFilter:
    """The filter of `port` given its groups' `rules` and the addresses of each remote
    group's member ports (`members`, by group id). A remote group without members, or
    whose members have no address of the rule's ethertype, allows nothing."""
    name = filter_name(port.id)
    if not port.port_security_enabled:
        return PacketFilter(name=name, uuid=port.id, enforcing=False)
    found: list[PacketRule] = []
    for rule in rules:
        if rule.remote_group_id is None:
            remotes: list[str | None] = [rule.remote_ip_prefix]
        else:
            version = 6 if rule.ethertype == "IPv6" else 4
            remotes = [
                f"{address}/{32 if version == 4 else 128}"
                for address in sorted(set(members.get(rule.remote_group_id, ())))
                if ipaddress.ip_address(address).version == version
            ]
        found += [
            PacketRule(
                direction=rule.direction,
                ethertype=rule.ethertype,
                protocol=rule.protocol,
                port_min=rule.port_range_min,
                port_max=rule.port_range_max,
                remote=remote,
            )
            for remote in remotes
        ]
    addresses = sorted(
        {ip.ip_address for ip in port.fixed_ips if ipaddress.ip_address(ip.ip_address).version == 4}
    )
    return PacketFilter(
        name=name, uuid=port.id, rules=tuple(sorted(set(found))), addresses=tuple(addresses)
    )


async def port_filters(db: Any, ports: list[Port]) -> list[PacketFilter]:
    """The filters of `ports`, read from the security group read models in two queries."""
    groups = sorted({g for port in ports for g in port.security_groups})
    rules = await select(db, SecurityGroupRule, "group_id = ANY($1::text[])", groups)
    remote = sorted({r.remote_group_id for r in rules if r.remote_group_id is not None})
    members: dict[str, list[str]] = {}
    for member in await select(db, Port, "security_groups && $1::text[]", remote):
        for group in set(member.security_groups) & set(remote):
            members.setdefault(group, []).extend(ip.ip_address for ip in member.fixed_ips)
    by_group: dict[str, list[SecurityGroupRule]] = {}
    for rule in rules:
        by_group.setdefault(rule.group_id, []).append(rule)
    return [
        packet_filter(port, [r for g in port.security_groups for r in by_group.get(g, [])], members)
        for port in ports
    ]
