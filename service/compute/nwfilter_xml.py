"""libvirt nwfilter XML from a `PacketFilter`: pure functions, no libvirt import.

libvirt's nwfilter (libvirt 9.0 on Debian 12 drives it through iptables-nft and
ebtables-nft) is what filters here: the filter is referenced by the interface, libvirt
builds per-interface chains when the guest starts, and redefining the filter rebuilds
them live on every running interface that references it. The rules are IPv4-layer
elements (iptables), so ARP passes untouched; each accept is stateful (libvirt matches
NEW,ESTABLISHED one way and ESTABLISHED the other), so replies pass in the other
direction. Priorities: DHCP first (a guest may ask, never answer), then the rules, then
a drop of all other IPv4. Below that, at layer 2 (ebtables), libvirt's own
`clean-traffic` filter with the port's addresses as `IP`: the guest sends only from its
MAC and addresses (so a remote-group rule cannot be fooled by spoofing), and every frame
but IPv4 and ARP is dropped — IPv6 included, so IPv6 rules allow nothing: Kumo's
subnets are IPv4, and keeping ip6tables out of the filter halves the commands libvirt
runs for each change (measured here: a redefinition took 2.2 s with an ip6tables drop,
1.2 s without).
"""

import ipaddress
import xml.etree.ElementTree as ET

from service.compute.hypervisor import PacketFilter, PacketRule

CLEAN_TRAFFIC = "clean-traffic"
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
    "132": "sctp",
    "136": "udplite",
}
_ANY = "any"
_PORTED = {"tcp", "udp", "sctp", "udplite"}
_KNOWN = {*_PORTED, "icmp", "igmp", "esp", "ah"}


def filter_xml(spec: PacketFilter) -> str:
    """The filter's XML: empty (nothing filtered) unless `spec.enforcing`."""
    root = ET.Element("filter", name=spec.name, chain="root")
    ET.SubElement(root, "uuid").text = spec.uuid
    if not spec.enforcing:
        return ET.tostring(root, encoding="unicode")
    clean = ET.SubElement(root, "filterref", filter=CLEAN_TRAFFIC)
    for address in spec.addresses:
        ET.SubElement(clean, "parameter", name="IP", value=str(ipaddress.IPv4Address(address)))
    _rule(root, "out", DHCP_PRIORITY, "udp", action="drop", srcportstart="67", dstportstart="68")
    _rule(root, "out", DHCP_PRIORITY, "udp", srcportstart="68", dstportstart="67")
    _rule(root, "in", DHCP_PRIORITY, "udp", srcportstart="67", dstportstart="68")
    for rule in sorted(set(spec.rules)):
        element = rule_element(rule)
        if element is not None:
            _rule(root, _DIRECTIONS[rule.direction], RULE_PRIORITY, element[0], **element[1])
    _rule(root, "inout", DROP_PRIORITY, "all", action="drop")
    return ET.tostring(root, encoding="unicode")


def same_filter(first: str, second: str) -> bool:
    """Whether two filter XMLs say the same (libvirt re-orders attributes and indents)."""
    return _canonical(ET.fromstring(first)) == _canonical(ET.fromstring(second))


def _canonical(element: ET.Element) -> tuple[object, ...]:
    children = tuple(_canonical(child) for child in element)
    return element.tag, sorted(element.attrib.items()), (element.text or "").strip(), children


def rule_element(rule: PacketRule) -> tuple[str, dict[str, str]] | None:
    """The nwfilter protocol element and its attributes for an allowing rule, or None
    when the filter does not express it (a direction or IP protocol nwfilter has no element
    for, or IPv6): such a rule allows nothing, the safe reading of a filter."""
    if rule.direction not in _DIRECTIONS or rule.ethertype != "IPv4":
        return None
    protocol = _protocol(rule.protocol)
    if protocol == "":
        return None
    attributes = _ports(protocol, rule)
    if rule.remote is not None:
        remote = ipaddress.ip_network(rule.remote, strict=False)
        if remote.version != 4:
            return None
        side = "src" if rule.direction == "ingress" else "dst"
        attributes[f"{side}ipaddr"] = str(remote.network_address)
        attributes[f"{side}ipmask"] = str(remote.prefixlen)
    return protocol or "all", attributes


def _protocol(protocol: str | None) -> str | None:
    """The nwfilter name of a Neutron protocol; None for any, "" for one nwfilter lacks."""
    if protocol is None:
        return None
    name = protocol.lower()
    if name == _ANY:
        return None
    name = _NUMBERS.get(name, name)
    return name if name in _KNOWN else ""


def _ports(protocol: str | None, rule: PacketRule) -> dict[str, str]:
    """Destination ports of a ported protocol, or an ICMP type and code."""
    if protocol in _PORTED and rule.port_min is not None:
        ports = {"dstportstart": str(rule.port_min)}
        if rule.port_max is not None and rule.port_max != rule.port_min:
            ports["dstportend"] = str(rule.port_max)
        return ports
    if protocol == "icmp" and rule.port_min is not None:
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
