"""LibvirtDriver against libvirt's in-memory `test:///default` driver (no daemon)."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import libvirt
import pytest

from service.compute import libvirt as libvirt_driver
from service.compute.hypervisor import (
    DomainNotFound,
    DomainSpec,
    DomainState,
    DomainType,
    HypervisorError,
    HypervisorUnavailable,
    InvalidDomainState,
    LifecycleKind,
)
from service.compute.libvirt import LibvirtDriver
from tests.integration.compute.hypervisor_helpers import new_spec, wait_for_event


@pytest.fixture
async def driver() -> AsyncIterator[LibvirtDriver]:
    async with LibvirtDriver("test:///default", domain_type=DomainType.QEMU) as driver:
        yield driver


@pytest.fixture
def spec(tmp_path: Path) -> DomainSpec:
    return new_spec(str(tmp_path / "console.log"), kernel="/boot/vmlinux")


async def test_capabilities(driver: LibvirtDriver) -> None:
    caps = await driver.capabilities()
    assert caps.hypervisor_type == "TEST"
    assert caps.domain_type is DomainType.QEMU
    assert caps.vcpus > 0 and caps.memory_mib > 0
    assert LibvirtDriver.features.soft_reboot


async def test_probe_without_override_picks_qemu_on_a_non_qemu_driver() -> None:
    async with LibvirtDriver("test:///default") as driver:
        assert (await driver.capabilities()).domain_type is DomainType.QEMU


async def test_spawn_list_info_destroy(driver: LibvirtDriver, spec: DomainSpec) -> None:
    info = await driver.spawn(spec)
    assert (info.uuid, info.name, info.state) == (spec.uuid, spec.name, DomainState.RUNNING)
    assert (info.vcpus, info.memory_mib) == (1, 128)
    assert spec.uuid in {d.uuid for d in await driver.list_domains()}
    assert (await driver.info(spec.uuid)).state is DomainState.RUNNING
    await driver.destroy(spec.uuid)
    assert spec.uuid not in {d.uuid for d in await driver.list_domains()}
    with pytest.raises(DomainNotFound):
        await driver.info(spec.uuid)


async def test_spawn_again_is_idempotent(driver: LibvirtDriver, spec: DomainSpec) -> None:
    await driver.spawn(spec)
    assert (await driver.spawn(spec)).state is DomainState.RUNNING
    await driver.destroy(spec.uuid)


async def test_destroy_of_a_missing_domain_succeeds(driver: LibvirtDriver) -> None:
    await driver.destroy("00000000-0000-0000-0000-000000000001")


async def test_failed_spawn_leaves_nothing_defined(
    driver: LibvirtDriver, spec: DomainSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(_self: object, *_args: object) -> None:
        raise libvirt.libvirtError("injected start failure")

    monkeypatch.setattr(libvirt.virDomain, "create", refuse)
    with pytest.raises(HypervisorError, match="injected start failure"):
        await driver.spawn(spec)
    assert spec.uuid not in {d.uuid for d in await driver.list_domains()}


async def test_pause_unpause(driver: LibvirtDriver, spec: DomainSpec) -> None:
    await driver.spawn(spec)
    await driver.pause(spec.uuid)
    assert (await driver.info(spec.uuid)).state is DomainState.PAUSED
    with pytest.raises(InvalidDomainState):
        await driver.pause(spec.uuid)
    await driver.unpause(spec.uuid)
    assert (await driver.info(spec.uuid)).state is DomainState.RUNNING
    await driver.destroy(spec.uuid)


async def test_suspend_resume(driver: LibvirtDriver, spec: DomainSpec) -> None:
    await driver.spawn(spec)
    await driver.suspend(spec.uuid)
    assert (await driver.info(spec.uuid)).state is DomainState.SUSPENDED
    await driver.resume(spec.uuid)
    assert (await driver.info(spec.uuid)).state is DomainState.RUNNING
    with pytest.raises(InvalidDomainState):
        await driver.resume(spec.uuid)
    await driver.destroy(spec.uuid)


async def test_power_off_and_on(driver: LibvirtDriver, spec: DomainSpec) -> None:
    await driver.spawn(spec)
    await driver.power_off(spec.uuid, grace_period=5)
    assert (await driver.info(spec.uuid)).state is DomainState.SHUTDOWN
    await driver.power_off(spec.uuid, grace_period=5)  # already off: no-op
    with pytest.raises(InvalidDomainState):
        await driver.pause(spec.uuid)
    await driver.power_on(spec.uuid)
    await driver.power_on(spec.uuid)  # already on: no-op
    await driver.power_off(spec.uuid, grace_period=0)
    assert (await driver.info(spec.uuid)).state is DomainState.SHUTDOWN
    await driver.destroy(spec.uuid)


async def test_reboot_soft_and_hard(driver: LibvirtDriver, spec: DomainSpec) -> None:
    await driver.spawn(spec)
    await driver.reboot(spec.uuid, hard=False)
    await driver.reboot(spec.uuid, hard=True)
    assert (await driver.info(spec.uuid)).state is DomainState.RUNNING
    await driver.power_off(spec.uuid, grace_period=0)
    with pytest.raises(InvalidDomainState):
        await driver.reboot(spec.uuid, hard=False)
    await driver.reboot(spec.uuid, hard=True)  # a hard reboot starts a shut-off domain
    assert (await driver.info(spec.uuid)).state is DomainState.RUNNING
    await driver.destroy(spec.uuid)


async def test_operations_on_a_missing_domain_raise_not_found(driver: LibvirtDriver) -> None:
    missing = "00000000-0000-0000-0000-000000000002"
    for operation in (driver.pause, driver.power_on, driver.info, driver.console_output):
        with pytest.raises(DomainNotFound):
            await operation(missing)


async def test_lifecycle_events(driver: LibvirtDriver, spec: DomainSpec) -> None:
    with driver.subscribe() as events:
        await driver.spawn(spec)
        await wait_for_event(events, spec.uuid, LifecycleKind.DEFINED)
        await wait_for_event(events, spec.uuid, LifecycleKind.STARTED)
        await driver.pause(spec.uuid)
        await wait_for_event(events, spec.uuid, LifecycleKind.SUSPENDED)
        await driver.unpause(spec.uuid)
        await wait_for_event(events, spec.uuid, LifecycleKind.RESUMED)
        await driver.power_off(spec.uuid, grace_period=5)
        stopped = await wait_for_event(events, spec.uuid, LifecycleKind.STOPPED)
        assert stopped.detail == libvirt.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN
        await driver.destroy(spec.uuid)
        await wait_for_event(events, spec.uuid, LifecycleKind.UNDEFINED)


async def test_console_output_tails_the_serial_log(driver: LibvirtDriver, spec: DomainSpec) -> None:
    await driver.spawn(spec)
    assert await driver.console_output(spec.uuid) == ""
    await asyncio.to_thread(Path(spec.serial_log).write_bytes, b"booting\nready \xff\n")
    assert await driver.console_output(spec.uuid) == "booting\nready \ufffd\n"
    assert await driver.console_output(spec.uuid, max_bytes=8) == "ready \ufffd\n"
    await driver.destroy(spec.uuid)


async def test_close_ends_subscriptions_and_later_calls_fail(spec: DomainSpec) -> None:
    driver = LibvirtDriver("test:///default")
    await driver.connect()
    events = driver.subscribe()
    await driver.close()
    await driver.close()
    assert [e async for e in events] == []
    with pytest.raises(HypervisorUnavailable):
        await driver.spawn(spec)


async def test_unreachable_uri_raises_unavailable() -> None:
    with pytest.raises(HypervisorUnavailable):
        await LibvirtDriver("test:///no/such/node.xml").connect()


def test_a_drain_cut_off_by_its_loops_end_does_not_stop_later_drivers_closing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A loop that ends with a connection open leaves libvirt's callbacks undrained;
    drivers of the next loop still close (as one test after another does)."""
    monkeypatch.setattr(libvirt_driver, "DRAIN_TIMEOUT", 0.2)

    async def first_loop() -> LibvirtDriver:
        left_open, closed = LibvirtDriver("test:///default"), LibvirtDriver("test:///default")
        await left_open.connect()
        await closed.connect()
        await closed.close()  # its drain waits for left_open's callbacks: it times out
        return left_open

    left_open = asyncio.run(first_loop())

    async def next_loop() -> None:
        async with LibvirtDriver("test:///default") as driver:
            assert await driver.list_domains() is not None
        await left_open.close()

    asyncio.run(next_loop())
