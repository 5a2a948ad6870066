"""libvirt network XML from a `NetworkSpec`, and what a live network's XML says: pure
functions, no libvirt import.

A host network is a bridge, the host's address on it and libvirt's dnsmasq serving DHCP
with a fixed lease per port, as VIRT-NOTES.md measured. It is `open` (`<forward
mode='open'/>`): libvirt adds no firewall rules for it, so that what the host forwards
to and from it (nothing, unless a router joins it to others: service/network/routing.py)
is Kumo's to say. The forward mode is not part of a live network's `shape`: a network
defined isolated by an older Kumo is kept (and stays isolated) rather than restarted
under its running guests, which would cut them off their bridge.
"""

import ipaddress
import xml.etree.ElementTree as ET

from service.compute.hypervisor import DhcpHost, NetworkSpec


def network_xml(spec: NetworkSpec, *, hosts: bool = True) -> str:
    """The network's XML (without its fixed leases unless `hosts`)."""
    network = ET.Element("network")
    ET.SubElement(network, "name").text = spec.name
    ET.SubElement(network, "forward", mode="open")
    ET.SubElement(network, "bridge", name=spec.bridge, stp="off")
    if spec.address is not None:
        mask = str(ipaddress.IPv4Network(f"0.0.0.0/{spec.prefix}").netmask)
        ip = ET.SubElement(network, "ip", address=spec.address, netmask=mask)
        if spec.dhcp_range is not None:
            dhcp = ET.SubElement(ip, "dhcp")
            ET.SubElement(dhcp, "range", start=spec.dhcp_range[0], end=spec.dhcp_range[1])
            for host in spec.hosts if hosts else ():
                ET.SubElement(dhcp, "host", mac=host.mac, ip=host.ip)
    return ET.tostring(network, encoding="unicode")


def host_xml(host: DhcpHost) -> str:
    """One fixed lease, as `virNetworkUpdate` takes it."""
    return ET.tostring(ET.Element("host", mac=host.mac, ip=host.ip), encoding="unicode")


def shape(xml: str) -> tuple[str | None, ...]:
    """What must match for a live network to be kept: bridge, address, mask, DHCP range."""
    root = ET.fromstring(xml)
    bridge, ip = root.find("bridge"), root.find("ip")
    found = [None if bridge is None else bridge.get("name")]
    found += [None, None] if ip is None else [ip.get("address"), ip.get("netmask")]
    span = None if ip is None else ip.find("dhcp/range")
    found += [None, None] if span is None else [span.get("start"), span.get("end")]
    return tuple(found)


def leases(xml: str) -> set[DhcpHost]:
    """The fixed leases a network's XML holds."""
    return {
        DhcpHost(mac=host.get("mac", "").lower(), ip=host.get("ip", ""))
        for host in ET.fromstring(xml).iterfind("ip/dhcp/host")
    }
