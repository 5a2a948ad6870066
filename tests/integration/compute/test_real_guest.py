"""The tiny test guest booted for real on qemu:///system under TCG (marked `vm`).

Needs qemu, libvirtd and virtlogd running, and the guest build tools (see
tools/build_test_guest.py). Every domain a test starts is destroyed by the fixture.
"""

import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import libvirt
import pytest

from service.compute import disks
from service.compute.config_drive import ConfigDrive, build
from service.compute.hypervisor import (
    DomainSpec,
    DomainState,
    DomainType,
    HypervisorError,
    LifecycleKind,
)
from service.compute.libvirt import LibvirtDriver
from tests.integration.compute.hypervisor_helpers import new_spec, wait_for_console, wait_for_event
from tools.build_test_guest import MARKER, USER_DATA_BEGIN, USER_DATA_END, TinyGuest
from tools.build_test_guest import build as build_guest

pytestmark = pytest.mark.vm

URI = "qemu:///system"
BOOT_TIMEOUT = 60.0
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def guest() -> TinyGuest:
    return build_guest()


@pytest.fixture
def vm_dir() -> Iterator[Path]:
    """A folder qemu (user libvirt-qemu) can reach: not under a mode-700 pytest tmp."""
    (ROOT / ".kumo").mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="vm-test-", dir=ROOT / ".kumo"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
async def driver() -> AsyncIterator[LibvirtDriver]:
    """A driver whose domains are all destroyed at the end, whatever the test did."""
    async with LibvirtDriver(URI, domain_type=DomainType.QEMU) as driver:
        started = driver.subscribe()
        try:
            yield driver
        finally:
            started.close()
            for uuid in {event.uuid async for event in started}:
                await driver.destroy(uuid)


def pvh_spec(guest: TinyGuest, vm_dir: Path, **fields: object) -> DomainSpec:
    return new_spec(
        str(vm_dir / "console.log"),
        kernel=str(guest.vmlinux),
        initrd=str(guest.initrd),
        cmdline=guest.cmdline,
        **fields,
    )


async def boot(driver: LibvirtDriver, spec: DomainSpec) -> float:
    """Spawn and wait for the marker line; the seconds it took."""
    start = time.monotonic()
    await driver.spawn(spec)
    await wait_for_console(driver, spec.uuid, lambda out: MARKER in out, BOOT_TIMEOUT)
    return time.monotonic() - start


async def test_direct_boot_reaches_the_marker_and_reads_its_config_drive(
    driver: LibvirtDriver, guest: TinyGuest, vm_dir: Path
) -> None:
    iso = vm_dir / "disk.config"
    await build(
        ConfigDrive(uuid="u", name="n", hostname="n", project_id="p", user_data=b"hello-kumo"),
        iso,
    )
    spec = pvh_spec(guest, vm_dir, config_drive=str(iso))
    print(f"boot to marker (PVH): {await boot(driver, spec):.1f} s")
    expected = f"{USER_DATA_BEGIN}\nhello-kumo\n{USER_DATA_END}"
    await wait_for_console(driver, spec.uuid, lambda out: expected in out.replace("\r\n", "\n"), 15)


async def test_disk_boot_from_a_qcow2_overlay(
    driver: LibvirtDriver, guest: TinyGuest, vm_dir: Path
) -> None:
    overlay = vm_dir / "root.qcow2"
    await disks.create_overlay(guest.disk, overlay, 32 * 1024 * 1024)
    spec = new_spec(str(vm_dir / "console.log"), disks=(str(overlay),))
    print(f"boot to marker (disk): {await boot(driver, spec):.1f} s")


async def test_acpi_shutdown_powers_off(
    driver: LibvirtDriver, guest: TinyGuest, vm_dir: Path
) -> None:
    spec = pvh_spec(guest, vm_dir)
    await boot(driver, spec)
    with driver.subscribe() as events:
        start = time.monotonic()
        await driver.power_off(spec.uuid, grace_period=30)
        print(f"ACPI shutdown: {time.monotonic() - start:.1f} s")
        await wait_for_event(events, spec.uuid, LifecycleKind.SHUTDOWN)
        stopped = await wait_for_event(events, spec.uuid, LifecycleKind.STOPPED)
    assert stopped.detail == libvirt.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN  # not the fallback
    assert (await driver.info(spec.uuid)).state is DomainState.SHUTDOWN


async def test_soft_reboot_boots_again(
    driver: LibvirtDriver, guest: TinyGuest, vm_dir: Path
) -> None:
    spec = pvh_spec(guest, vm_dir)
    await boot(driver, spec)
    with driver.subscribe() as events:
        await driver.reboot(spec.uuid, hard=False)
        await wait_for_event(events, spec.uuid, LifecycleKind.REBOOTED, within=BOOT_TIMEOUT)
    took = await wait_for_console(
        driver, spec.uuid, lambda out: out.count(MARKER) >= 2, BOOT_TIMEOUT
    )
    print(f"soft reboot to marker: {took:.1f} s")
    assert (await driver.info(spec.uuid)).state is DomainState.RUNNING


async def test_destroy_stops_and_undefines(
    driver: LibvirtDriver, guest: TinyGuest, vm_dir: Path
) -> None:
    spec = pvh_spec(guest, vm_dir)
    await driver.spawn(spec)
    with driver.subscribe() as events:
        start = time.monotonic()
        await driver.destroy(spec.uuid)
        print(f"destroy: {time.monotonic() - start:.2f} s")
        stopped = await wait_for_event(events, spec.uuid, LifecycleKind.STOPPED)
    assert stopped.detail == libvirt.VIR_DOMAIN_EVENT_STOPPED_DESTROYED
    assert spec.uuid not in {d.uuid for d in await driver.list_domains()}


async def test_failed_spawn_leaves_nothing_defined(driver: LibvirtDriver, vm_dir: Path) -> None:
    spec = new_spec(str(vm_dir / "console.log"), kernel=str(vm_dir / "no-such-kernel"))
    with pytest.raises(HypervisorError):
        await driver.spawn(spec)
    assert spec.uuid not in {d.uuid for d in await driver.list_domains()}


async def test_domain_type_probe_answers_within_seconds() -> None:
    start = time.monotonic()
    async with LibvirtDriver(URI) as driver:
        kind = (await driver.capabilities()).domain_type
    print(f"domain type probe: {kind} in {time.monotonic() - start:.1f} s")
    assert time.monotonic() - start < 15
