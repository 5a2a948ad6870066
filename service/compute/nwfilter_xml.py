"""libvirt nwfilter XML from a `PacketFilter`: pure functions, no libvirt import.

libvirt's nwfilter (libvirt 9.0 on Debian 12 drives it through iptables-nft and
ebtables-nft) is what filters here: the filter is referenced by the interface, libvirt
builds per-interface chains when the guest starts, and redefining the filter rebuilds
them live on every running interface that references it. Only IP-layer elements are used,
so ARP passes untouched; each accept is stateful (libvirt matches NEW,ESTABLISHED one way
and ESTABLISHED the other), so replies pass in the other direction. Priorities: DHCP
first, then the rules, then a drop of all other IPv4 and IPv6.
"""

import ipaddress
import xml.etree.ElementTree as ET

from service.compute.hypervisor import PacketFilter, PacketRule

DHCP_PRIORITY = "100"
RULE_PRIORITY = "500"
DROP_PRIORITY = "1000"

_DIRECTIONS = {"ingress": "in", "egress": "out"}
_NUMBERS = {
    "1": "icmp",
    "2": "igmp",
    "6": "tcp",
    "17": "udp",
    "50": "esp",
    "51": "ah",
    "58": "icmpv6",
    "132": "sctp",
    "136": "udplite",
}
_ALIASES = {"ipv6-icmp": "icmpv6", "any": None}
_PORTED = {"tcp", "udp", "sctp", "udplite"}
_ICMP = {"icmp", "icmpv6"}
_KNOWN = {*_PORTED, *_ICMP, "igmp", "esp", "ah"}


def filter_xml(spec: PacketFilter) -> str:
    """The filter's XML: empty (nothing filtered) unless `spec.enforcing`."""
    root = ET.Element("filter", name=spec.name, chain="root")
    ET.SubElement(root, "uuid").text = spec.uuid
    if not spec.enforcing:
        return ET.tostring(root, encoding="unicode")
    _rule(root, "out", DHCP_PRIORITY, "udp", srcportstart="68", dstportstart="67")
    _rule(root, "in", DHCP_PRIORITY, "udp", srcportstart="67", dstportstart="68")
    for rule in sorted(set(spec.rules)):
        element = rule_element(rule)
        if element is not None:
            _rule(root, _DIRECTIONS[rule.direction], RULE_PRIORITY, element[0], **element[1])
    _rule(root, "inout", DROP_PRIORITY, "all", action="drop")
    _rule(root, "inout", DROP_PRIORITY, "all-ipv6", action="drop")
    return ET.tostring(root, encoding="unicode")


def rule_element(rule: PacketRule) -> tuple[str, dict[str, str]] | None:
    """The nwfilter protocol element and its attributes for an allowing rule, or None
    when nwfilter cannot express it (a direction, ethertype or IP protocol it has no
    element for): such a rule allows nothing, the safe reading of a filter."""
    if rule.direction not in _DIRECTIONS or rule.ethertype not in ("IPv4", "IPv6"):
        return None
    protocol = _protocol(rule.protocol)
    if protocol == "":
        return None
    v6 = rule.ethertype == "IPv6"
    if protocol is None:
        tag = "all-ipv6" if v6 else "all"
    elif protocol in _ICMP:
        if (protocol == "icmpv6") != v6:
            return None
        tag = protocol
    elif protocol == "igmp":
        if v6:
            return None
        tag = protocol
    else:
        tag = f"{protocol}-ipv6" if v6 else protocol
    attributes = _ports(protocol, rule)
    if rule.remote is not None:
        remote = ipaddress.ip_network(rule.remote, strict=False)
        if (remote.version == 6) != v6:
            return None
        side = "src" if rule.direction == "ingress" else "dst"
        attributes[f"{side}ipaddr"] = str(remote.network_address)
        attributes[f"{side}ipmask"] = str(remote.prefixlen)
    return tag, attributes


def _protocol(protocol: str | None) -> str | None:
    """The nwfilter name of a Neutron protocol; None for any, "" for one nwfilter lacks."""
    if protocol is None:
        return None
    name = protocol.lower()
    if name in _ALIASES:
        return _ALIASES[name]
    name = _NUMBERS.get(name, name)
    return name if name in _KNOWN else ""


def _ports(protocol: str | None, rule: PacketRule) -> dict[str, str]:
    """Destination ports of a ported protocol, or an ICMP type and code."""
    if protocol in _PORTED and rule.port_min is not None:
        ports = {"dstportstart": str(rule.port_min)}
        if rule.port_max is not None and rule.port_max != rule.port_min:
            ports["dstportend"] = str(rule.port_max)
        return ports
    if protocol in _ICMP and rule.port_min is not None:
        icmp = {"type": str(rule.port_min)}
        if rule.port_max is not None:
            icmp["code"] = str(rule.port_max)
        return icmp
    return {}


def _rule(
    root: ET.Element,
    direction: str,
    priority: str,
    tag: str,
    action: str = "accept",
    **attributes: str,
) -> None:
    rule = ET.SubElement(root, "rule", action=action, direction=direction, priority=priority)
    ET.SubElement(rule, tag, attributes)
