"""A hot-plugged interface is rendered as a boot-time one, and a domain's definition
gains and loses one by its MAC address (for drivers that cannot hot-plug)."""

import xml.etree.ElementTree as ET

from service.compute.domain_xml import (
    domain_xml,
    interface_macs,
    interface_xml,
    with_interface,
    without_interface,
)
from service.compute.hypervisor import DomainSpec, DomainType, Interface

FIRST = Interface("kumo-n", "fa:16:3e:00:00:01", "tap5f0c1a7e-2b")
SECOND = Interface("kumo-m", "fa:16:3e:00:00:02", "tap0b9a3b5e-4a")


def _domain(*interfaces: Interface) -> str:
    spec = DomainSpec(
        uuid="0b9a3b5e-4a0e-4d8e-9a57-5f8f3b1f2c11",
        name="instance-1",
        vcpus=1,
        memory_mib=128,
        serial_log="/var/lib/kumo/console.log",
        interfaces=interfaces,
    )
    return domain_xml(spec, DomainType.QEMU)


def test_a_hot_plugged_interface_is_the_one_a_domain_boots_with() -> None:
    [booted] = ET.fromstring(_domain(FIRST)).iterfind("devices/interface")
    assert ET.tostring(booted, encoding="unicode") == interface_xml(FIRST)
    plugged = ET.fromstring(interface_xml(FIRST))
    assert plugged.get("type") == "network"
    assert [(e.tag, e.attrib) for e in plugged][:2] == [
        ("source", {"network": "kumo-n"}),
        ("mac", {"address": FIRST.mac}),
    ]


def test_a_definition_gains_and_loses_an_interface_by_its_mac() -> None:
    xml = _domain(FIRST)
    assert interface_macs(xml) == {FIRST.mac}
    grown = with_interface(xml, SECOND)
    assert interface_macs(grown) == {FIRST.mac, SECOND.mac}
    assert ET.fromstring(grown).findtext("name") == "instance-1"
    shrunk = without_interface(grown, FIRST.mac.upper())
    assert interface_macs(shrunk) == {SECOND.mac}
    assert without_interface(shrunk, "fa:16:3e:ff:ff:ff") == shrunk
    assert interface_macs(without_interface(shrunk, SECOND.mac)) == set()
