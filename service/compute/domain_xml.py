"""libvirt domain XML from a `DomainSpec`: pure functions, no libvirt import.

The shapes are those measured in VIRT-NOTES.md: direct kernel boot or disk boot, an
ACPI-capable machine (ACPI shutdown and reboot need `<acpi/>`), virtio NICs on host
networks (without option ROMs, on tap devices named in advance), the serial console
written to a file, no USB controller or balloon, and a bounded TCG translation cache.
"""

import xml.etree.ElementTree as ET

from service.compute.hypervisor import DomainSpec, DomainType, Interface

ARCH = "x86_64"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrib: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrib)
    element.text = text
    return element


def _os(domain: ET.Element, spec: DomainSpec) -> None:
    os_ = _sub(domain, "os")
    _sub(os_, "type", "hvm", arch=ARCH, machine=spec.machine)
    if spec.kernel is None:
        _sub(os_, "boot", dev="hd")
        return
    _sub(os_, "kernel", spec.kernel)
    if spec.initrd is not None:
        _sub(os_, "initrd", spec.initrd)
    if spec.cmdline is not None:
        _sub(os_, "cmdline", spec.cmdline)


def _features(domain: ET.Element, spec: DomainSpec, domain_type: DomainType) -> None:
    features = _sub(domain, "features")
    _sub(features, "acpi")
    if domain_type is DomainType.QEMU:
        tcg = _sub(features, "tcg")
        _sub(tcg, "tb-cache", str(spec.tb_cache_mib), unit="MiB")


def _disks(devices: ET.Element, spec: DomainSpec) -> None:
    for index, path in enumerate(spec.disks):
        disk = _sub(devices, "disk", type="file", device="disk")
        _sub(disk, "driver", name="qemu", type="qcow2")
        _sub(disk, "source", file=path)
        _sub(disk, "target", dev=f"vd{chr(ord('a') + index)}", bus="virtio")
    if spec.config_drive is not None:
        cdrom = _sub(devices, "disk", type="file", device="cdrom")
        _sub(cdrom, "driver", name="qemu", type="raw")
        _sub(cdrom, "source", file=spec.config_drive)
        # The i440fx machine ("pc") has IDE; q35 has only SATA.
        bus = "ide" if spec.machine.startswith("pc") else "sata"
        _sub(cdrom, "target", dev="hdc" if bus == "ide" else "sdc", bus=bus)
        _sub(cdrom, "readonly")


def interface_element(interface: Interface) -> ET.Element:
    """The `<interface>` of a domain for `interface`, at boot or hot-plugged alike."""
    nic = ET.Element("interface", type="network")
    _sub(nic, "source", network=interface.network)
    _sub(nic, "mac", address=interface.mac)
    _sub(nic, "model", type="virtio")
    _sub(nic, "rom", enabled="no")
    if interface.device is not None:
        _sub(nic, "target", dev=interface.device)
    return nic


def interface_xml(interface: Interface) -> str:
    """`interface_element` as a device XML for attaching and detaching."""
    return ET.tostring(interface_element(interface), encoding="unicode")


def _serial(devices: ET.Element, spec: DomainSpec) -> None:
    serial = _sub(devices, "serial", type="file")
    _sub(serial, "source", path=spec.serial_log)
    _sub(serial, "target", port="0")
    console = _sub(devices, "console", type="file")
    _sub(console, "source", path=spec.serial_log)
    _sub(console, "target", type="serial", port="0")


def domain_xml(spec: DomainSpec, domain_type: DomainType) -> str:
    """The domain XML for `spec`, as `domain_type` (the spec's own type wins if set)."""
    kind = spec.domain_type or domain_type
    domain = ET.Element("domain", type=kind.value)
    _sub(domain, "name", spec.name)
    _sub(domain, "uuid", spec.uuid)
    _sub(domain, "memory", str(spec.memory_mib), unit="MiB")
    _sub(domain, "vcpu", str(spec.vcpus))
    _os(domain, spec)
    _features(domain, spec, kind)
    if kind is DomainType.KVM:
        _sub(domain, "cpu", mode="host-passthrough")
    _sub(domain, "on_poweroff", "destroy")
    _sub(domain, "on_reboot", "restart")
    _sub(domain, "on_crash", "destroy")
    devices = _sub(domain, "devices")
    _disks(devices, spec)
    devices.extend(interface_element(i) for i in spec.interfaces)
    _serial(devices, spec)
    _sub(devices, "controller", type="usb", model="none")
    _sub(devices, "memballoon", model="none")
    return ET.tostring(domain, encoding="unicode")


def serial_log_path(xml: str) -> str | None:
    """The file the first serial port of a domain XML writes to, if it writes to a file.

    Raises ValueError if `xml` is not well-formed.
    """
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as e:
        raise ValueError(f"malformed domain XML: {e}") from e
    for serial in root.iterfind("./devices/serial"):
        if serial.get("type") == "file":
            source = serial.find("source")
            return None if source is None else source.get("path")
        log = serial.find("log")
        if log is not None:
            return log.get("file")
    return None


def interface_macs(xml: str) -> set[str]:
    """The MAC addresses of a domain XML's interfaces (lower case)."""
    root = ET.fromstring(xml)
    return {m.get("address", "").lower() for m in root.iterfind("devices/interface/mac")}


def with_interface(xml: str, interface: Interface) -> str:
    """A domain XML with `interface` added, for drivers that cannot hot-plug."""
    root = ET.fromstring(xml)
    devices = root.find("devices")
    if devices is None:
        devices = _sub(root, "devices")
    devices.append(interface_element(interface))
    return ET.tostring(root, encoding="unicode")


def without_interface(xml: str, mac: str) -> str:
    """A domain XML without the interface whose MAC address is `mac`."""
    root = ET.fromstring(xml)
    for devices in root.iterfind("devices"):
        for nic in devices.findall("interface"):
            found = nic.find("mac")
            if found is not None and found.get("address", "").lower() == mac.lower():
                devices.remove(nic)
    return ET.tostring(root, encoding="unicode")
