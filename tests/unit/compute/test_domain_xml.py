import xml.etree.ElementTree as ET

import pytest

from service.compute.domain_xml import domain_xml, serial_log_path
from service.compute.hypervisor import DomainSpec, DomainType, Interface

UUID = "0b9a3b5e-4a0e-4d8e-9a57-5f8f3b1f2c11"


def spec(**fields: object) -> DomainSpec:
    base: dict[str, object] = {
        "uuid": UUID,
        "name": "instance-1",
        "vcpus": 2,
        "memory_mib": 128,
        "serial_log": "/var/lib/kumo/instance-1/console.log",
    }
    return DomainSpec(**(base | fields))  # type: ignore[arg-type]


def parse(s: DomainSpec, kind: DomainType = DomainType.QEMU) -> ET.Element:
    return ET.fromstring(domain_xml(s, kind))


def test_direct_boot_has_kernel_initrd_cmdline_and_no_boot_device() -> None:
    root = parse(spec(kernel="/g/vmlinux", initrd="/g/initrd.gz", cmdline="console=ttyS0"))
    assert root.get("type") == "qemu"
    assert root.findtext("name") == "instance-1"
    assert root.findtext("uuid") == UUID
    assert root.findtext("os/kernel") == "/g/vmlinux"
    assert root.findtext("os/initrd") == "/g/initrd.gz"
    assert root.findtext("os/cmdline") == "console=ttyS0"
    assert root.find("os/boot") is None
    os_type = root.find("os/type")
    assert os_type is not None and os_type.attrib == {"arch": "x86_64", "machine": "pc"}


def test_disk_boot_boots_from_the_first_virtio_qcow2_disk() -> None:
    root = parse(spec(disks=("/d/root.qcow2", "/d/eph.qcow2")))
    boot = root.find("os/boot")
    assert boot is not None and boot.get("dev") == "hd"
    assert root.find("os/kernel") is None
    disks = root.findall("devices/disk[@device='disk']")
    assert [d.find("source").get("file") for d in disks] == ["/d/root.qcow2", "/d/eph.qcow2"]  # type: ignore[union-attr]
    assert [d.find("target").attrib for d in disks] == [  # type: ignore[union-attr]
        {"dev": "vda", "bus": "virtio"},
        {"dev": "vdb", "bus": "virtio"},
    ]
    assert all(d.find("driver").get("type") == "qcow2" for d in disks)  # type: ignore[union-attr]


def test_memory_vcpus_acpi_and_lean_devices() -> None:
    root = parse(spec())
    memory = root.find("memory")
    assert memory is not None and (memory.text, memory.get("unit")) == ("128", "MiB")
    assert root.findtext("vcpu") == "2"
    assert root.find("features/acpi") is not None
    assert root.findtext("on_poweroff") == "destroy"
    assert root.find("devices/controller[@type='usb']").get("model") == "none"  # type: ignore[union-attr]
    assert root.find("devices/memballoon").get("model") == "none"  # type: ignore[union-attr]


def test_serial_console_goes_to_the_log_file() -> None:
    xml = domain_xml(spec(), DomainType.QEMU)
    root = ET.fromstring(xml)
    assert root.find("devices/serial").get("type") == "file"  # type: ignore[union-attr]
    assert root.find("devices/console/target").get("type") == "serial"  # type: ignore[union-attr]
    assert serial_log_path(xml) == "/var/lib/kumo/instance-1/console.log"


def test_tcg_gets_a_bounded_translation_cache_and_kvm_does_not() -> None:
    tb_cache = parse(spec(tb_cache_mib=32)).find("features/tcg/tb-cache")
    assert tb_cache is not None and (tb_cache.text, tb_cache.get("unit")) == ("32", "MiB")
    kvm = parse(spec(), DomainType.KVM)
    assert kvm.get("type") == "kvm"
    assert kvm.find("features/tcg") is None
    assert kvm.find("cpu").get("mode") == "host-passthrough"  # type: ignore[union-attr]


def test_the_spec_domain_type_overrides_the_host_default() -> None:
    assert parse(spec(domain_type=DomainType.KVM), DomainType.QEMU).get("type") == "kvm"


@pytest.mark.parametrize(("machine", "bus", "dev"), [("pc", "ide", "hdc"), ("q35", "sata", "sdc")])
def test_config_drive_is_a_read_only_cdrom(machine: str, bus: str, dev: str) -> None:
    root = parse(spec(config_drive="/d/disk.config", machine=machine))
    cdrom = root.find("devices/disk[@device='cdrom']")
    assert cdrom is not None
    assert cdrom.find("source").get("file") == "/d/disk.config"  # type: ignore[union-attr]
    assert cdrom.find("target").attrib == {"dev": dev, "bus": bus}  # type: ignore[union-attr]
    assert cdrom.find("readonly") is not None


def test_text_is_escaped() -> None:
    root = parse(spec(name="a<b>&c", kernel="/k", cmdline="x='1' & y=\"2\""))
    assert root.findtext("name") == "a<b>&c"
    assert root.findtext("os/cmdline") == "x='1' & y=\"2\""


def test_serial_log_path_of_a_pty_with_log_and_of_none() -> None:
    pty = "<domain><devices><serial type='pty'><log file='/l.log'/></serial></devices></domain>"
    assert serial_log_path(pty) == "/l.log"
    assert serial_log_path("<domain><devices/></domain>") is None
    with pytest.raises(ValueError, match="malformed"):
        serial_log_path("<domain>")


def test_interfaces_get_the_tap_devices_named_for_them() -> None:
    nics = (
        Interface("kumo-n", "52:54:00:00:00:01", "tap5f0c1a7e-2b"),
        Interface("kumo-n", "52:54:00:00:00:02"),
    )
    xml = domain_xml(spec(interfaces=nics), DomainType.QEMU)
    found = [nic.find("target") for nic in ET.fromstring(xml).iterfind("devices/interface")]
    assert found[0] is not None and found[0].attrib == {"dev": "tap5f0c1a7e-2b"}
    assert found[1] is None
    assert "filterref" not in xml
