"""LibvirtDriver's attach_interface and detach_interface on libvirt's test driver, which
cannot hot-plug: the domain's definition gains and loses the interface (what a real
host's guest sees at its next start, and what it keeps after a live plug)."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import libvirt
import pytest

from service.compute.domain_xml import interface_macs
from service.compute.hypervisor import DomainNotFound, DomainType, HypervisorError, Interface
from service.compute.libvirt import LibvirtDriver
from tests.integration.compute.hypervisor_helpers import new_spec

NIC = Interface("default", "fa:16:3e:12:34:56")
"""On the test driver's own running network."""


@pytest.fixture
async def driver() -> AsyncIterator[LibvirtDriver]:
    async with LibvirtDriver("test:///default", domain_type=DomainType.QEMU) as driver:
        yield driver


async def _defined_macs(uuid: str) -> set[str]:
    """The MAC addresses in the domain's definition (the test driver's state is shared
    by every connection of this process while one is open)."""

    def read() -> str:
        conn = libvirt.open("test:///default")
        try:
            return str(conn.lookupByUUIDString(uuid).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        finally:
            conn.close()

    return interface_macs(await asyncio.to_thread(read))


async def test_an_interface_is_attached_once_and_detached(
    driver: LibvirtDriver, tmp_path: Path
) -> None:
    spec = new_spec(str(tmp_path / "console.log"), kernel="/boot/vmlinux")
    await driver.spawn(spec)
    try:
        await driver.attach_interface(spec.uuid, NIC)
        await driver.attach_interface(spec.uuid, NIC)  # a retry after a crash, say
        assert await _defined_macs(spec.uuid) == {NIC.mac}
        await driver.power_off(spec.uuid, 0)
        other = Interface("default", "fa:16:3e:65:43:21")
        await driver.attach_interface(spec.uuid, other)
        assert await _defined_macs(spec.uuid) == {NIC.mac, other.mac}
        await driver.detach_interface(spec.uuid, NIC)
        await driver.detach_interface(spec.uuid, NIC)
        assert await _defined_macs(spec.uuid) == {other.mac}
    finally:
        await driver.destroy(spec.uuid)


async def test_attach_needs_a_domain_and_a_running_network(
    driver: LibvirtDriver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(DomainNotFound):
        await driver.attach_interface("00000000-0000-0000-0000-000000000001", NIC)
    spec = new_spec(str(tmp_path / "console.log"), kernel="/boot/vmlinux")
    await driver.spawn(spec)
    monkeypatch.setattr("service.compute.libvirt.NETWORK_WAIT", 0.2)
    try:
        with pytest.raises(HypervisorError, match="kumo-missing is not running"):
            await driver.attach_interface(spec.uuid, Interface("kumo-missing", NIC.mac))
        assert await _defined_macs(spec.uuid) == set()
    finally:
        await driver.destroy(spec.uuid)
