"""The `Hypervisor` on libvirt-python: the one module that imports libvirt.

Blocking libvirt calls run in worker threads (`asyncio.to_thread`); lifecycle events
arrive through libvirtaio on the event loop. Works with any libvirt URI:
`test:///default` (in memory, for tests), `qemu:///system`, remote `qemu+ssh://...`.
libvirt errors leave this module only as the typed errors of `hypervisor`.
"""

import asyncio
import logging
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Self, TypeVar
from urllib.parse import urlsplit

import libvirt
import libvirtaio

from service.compute.domain_xml import (
    domain_xml,
    interface_macs,
    interface_xml,
    serial_log_path,
    with_interface,
    without_interface,
)
from service.compute.hypervisor import (
    DhcpHost,
    DomainInfo,
    DomainNotFound,
    DomainSpec,
    DomainState,
    DomainType,
    DriverFeatures,
    HostCapabilities,
    HypervisorError,
    HypervisorUnavailable,
    Interface,
    InvalidDomainState,
    LifecycleEvent,
    LifecycleHub,
    LifecycleKind,
    LifecycleSubscription,
    NetworkSpec,
)
from service.compute.network_xml import host_xml, leases, network_xml, shape

log = logging.getLogger(__name__)
T = TypeVar("T")

POLL_INTERVAL = 0.1
KVM_PROBE_TIMEOUT = 3.0
NETWORK_WAIT = 30.0
"""How long `spawn` waits for the host networks of a domain's interfaces."""
_LEASE_UPDATE = libvirt.VIR_NETWORK_UPDATE_AFFECT_LIVE | libvirt.VIR_NETWORK_UPDATE_AFFECT_CONFIG
DRAIN_TIMEOUT = 5.0
DETACH_WAIT = 30.0
"""How long `detach_interface` waits for a running guest to let its interface go."""
_LIVE, _CONFIG = libvirt.VIR_DOMAIN_AFFECT_LIVE, libvirt.VIR_DOMAIN_AFFECT_CONFIG


def _to_change(dom: Any, mac: str, *, present: bool) -> tuple[int, str]:
    """Where the interface with `mac` is not yet as `present` asks: _LIVE (the running
    domain) and _CONFIG (its definition) flags, and the definition itself."""
    defined: str = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    live = dom.isActive() and (mac in interface_macs(dom.XMLDesc(0))) != present
    config = (mac in interface_macs(defined)) != present
    return (_LIVE if live else 0) | (_CONFIG if config else 0), defined


# libvirt's states onto Nova's power states, as nova.virt.libvirt does: a domain that is
# blocked or still shutting down is running; a shut-off one is SHUTDOWN.
_STATES = {
    libvirt.VIR_DOMAIN_NOSTATE: DomainState.NOSTATE,
    libvirt.VIR_DOMAIN_RUNNING: DomainState.RUNNING,
    libvirt.VIR_DOMAIN_BLOCKED: DomainState.RUNNING,
    libvirt.VIR_DOMAIN_PAUSED: DomainState.PAUSED,
    libvirt.VIR_DOMAIN_SHUTDOWN: DomainState.RUNNING,
    libvirt.VIR_DOMAIN_SHUTOFF: DomainState.SHUTDOWN,
    libvirt.VIR_DOMAIN_CRASHED: DomainState.CRASHED,
    libvirt.VIR_DOMAIN_PMSUSPENDED: DomainState.SUSPENDED,
}

_EVENTS = {
    libvirt.VIR_DOMAIN_EVENT_DEFINED: LifecycleKind.DEFINED,
    libvirt.VIR_DOMAIN_EVENT_UNDEFINED: LifecycleKind.UNDEFINED,
    libvirt.VIR_DOMAIN_EVENT_STARTED: LifecycleKind.STARTED,
    libvirt.VIR_DOMAIN_EVENT_SUSPENDED: LifecycleKind.SUSPENDED,
    libvirt.VIR_DOMAIN_EVENT_RESUMED: LifecycleKind.RESUMED,
    libvirt.VIR_DOMAIN_EVENT_STOPPED: LifecycleKind.STOPPED,
    libvirt.VIR_DOMAIN_EVENT_SHUTDOWN: LifecycleKind.SHUTDOWN,
    libvirt.VIR_DOMAIN_EVENT_PMSUSPENDED: LifecycleKind.PMSUSPENDED,
    libvirt.VIR_DOMAIN_EVENT_CRASHED: LifecycleKind.CRASHED,
}

_UNREACHABLE = {
    libvirt.VIR_ERR_NO_CONNECT,
    libvirt.VIR_ERR_INVALID_CONN,
    libvirt.VIR_ERR_RPC,
    libvirt.VIR_ERR_AUTH_FAILED,
}

_UNDEFINE_FLAGS = (
    libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
)

# Real-mode code at the x86 reset vector: load an empty IDT, then int3. With no IDT the
# interrupt triple-faults and the machine resets; a KVM that runs guest code resets at
# once, a broken (e.g. nested) one never gets there.
_PROBE_RESET_VECTOR = bytes([0x2E, 0x0F, 0x01, 0x1E, 0xF8, 0xFF, 0xCC, 0xF4]) + bytes(8)
_PROBE_XML = """<domain type='kvm'><name>{name}</name><memory unit='MiB'>16</memory>
<vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type>
<loader type='rom'>{bios}</loader></os><on_reboot>destroy</on_reboot>
<on_crash>destroy</on_crash><devices><controller type='usb' model='none'/>
<memballoon model='none'/></devices></domain>"""

_event_impl: Any = None


def _bind_event_loop() -> None:
    """Dispatch libvirt events on the running loop; libvirt accepts one event loop
    implementation per process, so a later loop takes over the idle one.

    Raises HypervisorError if the implementation still serves another live loop.
    """
    global _event_impl
    loop = asyncio.get_running_loop()
    if _event_impl is None:
        libvirt.registerErrorHandler(
            lambda _ctx, _err: None, None
        )  # errors are raised, not printed
        _event_impl = libvirtaio.virEventRegisterAsyncIOImpl(loop=loop)
    elif _event_impl.loop is not loop:
        if not _event_impl.loop.is_closed() and not _event_impl.is_idle():
            raise HypervisorError("libvirt events are bound to another running event loop")
        _event_impl.loop = loop


_drain_task: "asyncio.Task[None] | None" = None


def _draining() -> "asyncio.Task[None]":
    """The one drain of libvirtaio's pending callbacks under way, started if none is.
    libvirtaio's drain is not reentrant and must not be cancelled (a cancelled drain
    leaves it unable to drain again), so drivers closing at once share one task."""
    global _drain_task
    loop = asyncio.get_running_loop()
    if _drain_task is None or _drain_task.done() or _drain_task.get_loop() is not loop:
        # No drain is under way on this loop: one whose loop ended while it waited (a
        # connection left open), cancelled at that loop's shutdown, left libvirtaio's
        # wait flag behind, and libvirtaio would refuse every later drain.
        _event_impl._finished = None
        _drain_task = loop.create_task(_event_impl.drain())
    return _drain_task


def _translate(error: Any, doing: str) -> HypervisorError:
    """A libvirt error as the typed error of the seam."""
    code = error.get_error_code()
    message = f"{doing}: {error.get_error_message() or error}"
    if code == libvirt.VIR_ERR_NO_DOMAIN:
        return DomainNotFound(message)
    if code == libvirt.VIR_ERR_OPERATION_INVALID:
        return InvalidDomainState(message)
    if code in _UNREACHABLE or error.get_error_domain() == libvirt.VIR_FROM_RPC:
        return HypervisorUnavailable(message)
    return HypervisorError(message)


def _ignoring(codes: set[int], fn: Callable[..., object], *args: object) -> None:
    """Call `fn`, treating a libvirt error with one of `codes` as success."""
    try:
        fn(*args)
    except libvirt.libvirtError as e:
        if e.get_error_code() not in codes:
            raise


def _state(dom: Any) -> DomainState:
    state, _reason = dom.state()
    if state == libvirt.VIR_DOMAIN_SHUTOFF and dom.hasManagedSaveImage():
        return DomainState.SUSPENDED
    return _STATES.get(state, DomainState.NOSTATE)


def _require(dom: Any, doing: str, *allowed: DomainState) -> None:
    state = _state(dom)
    if state not in allowed:
        raise InvalidDomainState(f"{doing}: domain {dom.UUIDString()} is {state.name}")


def _info(dom: Any) -> DomainInfo:
    _state_code, max_kib, _mem_kib, vcpus, cpu_time = dom.info()
    return DomainInfo(
        uuid=str(dom.UUIDString()),
        name=str(dom.name()),
        state=_state(dom),
        vcpus=int(vcpus),
        memory_mib=int(max_kib) // 1024,
        cpu_time_ns=int(cpu_time),
    )


def _hard_stop(dom: Any) -> None:
    _ignoring({libvirt.VIR_ERR_OPERATION_INVALID}, dom.destroy)  # not running: done


def _is_active(dom: Any) -> bool:
    """Whether the domain runs; a transient domain that stopped has vanished."""
    try:
        return bool(dom.isActive())
    except libvirt.libvirtError as e:
        if e.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
            return False
        raise


def _wait_stopped(dom: Any, timeout: float) -> bool:
    """Whether the domain stopped within `timeout` seconds (polled: events may be lost)."""
    deadline = time.monotonic() + timeout
    while _is_active(dom):
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_INTERVAL)
    return True


def _remove_network(net: Any) -> None:
    if net.isActive():
        net.destroy()
    _ignoring({libvirt.VIR_ERR_NO_NETWORK}, net.undefine)


def _set_leases(net: Any, spec: NetworkSpec) -> None:
    """Make the network's fixed leases exactly `spec.hosts`, live and in its definition."""
    if spec.address is None or spec.dhcp_range is None:
        return
    held = leases(net.XMLDesc(0))
    wanted = set(spec.hosts)
    # A MAC or an address that moved is deleted before its new lease is added.
    for host in sorted(held - wanted):
        _update_lease(net, libvirt.VIR_NETWORK_UPDATE_COMMAND_DELETE, host)
    for host in sorted(wanted - held):
        _update_lease(net, libvirt.VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, host)


def _update_lease(net: Any, command: int, host: DhcpHost) -> None:
    section = libvirt.VIR_NETWORK_SECTION_IP_DHCP_HOST
    net.update(command, section, -1, host_xml(host), _LEASE_UPDATE)


def _tail(path: str, max_bytes: int) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(max(0, os.fstat(f.fileno()).st_size - max_bytes))
            return f.read().decode(errors="replace")
    except FileNotFoundError:
        return ""


class LibvirtDriver:
    """A `Hypervisor` on one libvirt URI. Use `async with LibvirtDriver(uri) as driver`.

    `domain_type` overrides the probe (kvm if it runs guest code on the host, else qemu).
    `connect()` raises HypervisorUnavailable if the URI cannot be opened.
    """

    features: ClassVar[DriverFeatures] = DriverFeatures(
        soft_reboot=True,
        hard_reboot=True,
        pause=True,
        suspend=True,
        console_output=True,
        config_drive=True,
        lifecycle_events=True,
    )

    def __init__(self, uri: str, *, domain_type: DomainType | None = None) -> None:
        self.uri = uri
        self._domain_type = domain_type
        self._conn: Any = None
        self._callback_ids: list[int] = []
        self._hub = LifecycleHub()
        self._capabilities: HostCapabilities | None = None

    async def connect(self) -> None:
        """Open the connection and start receiving lifecycle events; idempotent."""
        if self._conn is not None:
            return
        _bind_event_loop()
        try:
            self._conn = await asyncio.to_thread(libvirt.open, self.uri)
        except libvirt.libvirtError as e:
            raise HypervisorUnavailable(f"cannot open {self.uri}: {e.get_error_message()}") from e
        register = self._conn.domainEventRegisterAny
        self._callback_ids = [
            register(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, self._on_lifecycle, None),
            register(None, libvirt.VIR_DOMAIN_EVENT_ID_REBOOT, self._on_reboot, None),
        ]

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        self._hub.close_all()
        if conn is None:
            return
        for callback_id in self._callback_ids:
            _ignoring({libvirt.VIR_ERR_INVALID_CONN}, conn.domainEventDeregisterAny, callback_id)
        self._callback_ids = []
        await asyncio.to_thread(conn.close)
        try:
            # Closing frees libvirt's callbacks through the loop; wait for that, or a
            # later loop shutdown reports "Event loop is closed".
            async with asyncio.timeout(DRAIN_TIMEOUT):
                await asyncio.shield(_draining())
        except TimeoutError:
            log.warning("libvirt events of %s did not drain in %s s", self.uri, DRAIN_TIMEOUT)

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def subscribe(self) -> LifecycleSubscription:
        return self._hub.subscribe()

    # libvirtaio runs these on the event loop thread, so publishing needs no lock.
    def _on_lifecycle(self, _conn: Any, dom: Any, event: int, detail: int, _opaque: Any) -> None:
        kind = _EVENTS.get(event)
        if kind is not None:
            self._publish(dom, kind, detail)

    def _on_reboot(self, _conn: Any, dom: Any, _opaque: Any) -> None:
        self._publish(dom, LifecycleKind.REBOOTED, 0)

    def _publish(self, dom: Any, kind: LifecycleKind, detail: int) -> None:
        event = LifecycleEvent(uuid=dom.UUIDString(), name=dom.name(), kind=kind, detail=detail)
        self._hub.publish(event)

    async def _run(self, doing: str, fn: Callable[..., T], *args: object) -> T:
        """Run a blocking libvirt function in a thread, translating its errors."""
        if self._conn is None:
            raise HypervisorUnavailable(f"{doing}: not connected to {self.uri}")
        try:
            return await asyncio.to_thread(fn, *args)
        except libvirt.libvirtError as e:
            raise _translate(e, doing) from e

    async def _on_domain(self, doing: str, uuid: str, fn: Callable[[Any], T]) -> T:
        """Look the domain up and run `fn(domain)`, both in one worker thread."""
        return await self._run(doing, lambda: fn(self._conn.lookupByUUIDString(uuid)))

    async def capabilities(self) -> HostCapabilities:
        if self._capabilities is None:
            self._capabilities = await self._run("capabilities", self._probe)
        return self._capabilities

    def _probe(self) -> HostCapabilities:
        model, memory_mib, cpus, *_rest = self._conn.getInfo()
        hypervisor_type = str(self._conn.getType())
        return HostCapabilities(
            hostname=str(self._conn.getHostname()),
            hypervisor_type=hypervisor_type,
            hypervisor_version=int(self._conn.getVersion()),
            domain_type=self._domain_type or self._probe_domain_type(hypervisor_type, model),
            arch=str(model),
            vcpus=int(cpus),
            memory_mib=int(memory_mib),
        )

    def _probe_domain_type(self, hypervisor_type: str, arch: str) -> DomainType:
        """kvm if libvirt offers it and (on a local x86 host) it runs guest code."""
        if hypervisor_type != "QEMU":
            return DomainType.QEMU
        try:
            self._conn.getDomainCapabilities(None, arch, None, "kvm")
        except libvirt.libvirtError:
            return DomainType.QEMU
        if urlsplit(self.uri).hostname or arch != "x86_64":
            return DomainType.KVM  # the probe firmware would have to be on that host
        with tempfile.TemporaryDirectory(prefix="kumo-kvm-probe-") as folder:
            os.chmod(folder, 0o755)  # qemu runs as another user
            bios = Path(folder) / "bios.bin"
            bios.write_bytes(bytes(65536 - len(_PROBE_RESET_VECTOR)) + _PROBE_RESET_VECTOR)
            bios.chmod(0o644)
            xml = _PROBE_XML.format(name=f"kumo-kvm-probe-{os.getpid()}", bios=bios)
            try:
                dom = self._conn.createXML(xml, 0)
            except libvirt.libvirtError as error:  # e.g. /dev/kvm there but not for qemu
                log.info("KVM cannot start a guest on %s (%s); using TCG", self.uri, error)
                return DomainType.QEMU
            try:
                works = _wait_stopped(dom, KVM_PROBE_TIMEOUT)
            finally:
                _ignoring({libvirt.VIR_ERR_NO_DOMAIN}, _hard_stop, dom)
        log.info("KVM %s on %s", "works" if works else "hangs; using TCG", self.uri)
        return DomainType.KVM if works else DomainType.QEMU

    async def spawn(self, spec: DomainSpec) -> DomainInfo:
        for interface in spec.interfaces:
            await self._wait_for_interface(interface)
        if spec.domain_type is None:
            spec_type = (await self.capabilities()).domain_type
        else:
            spec_type = spec.domain_type
        xml = domain_xml(spec, spec_type)

        def define_and_start() -> DomainInfo:
            dom = self._conn.defineXML(xml)  # an existing definition is replaced
            try:
                if not dom.isActive():
                    dom.create()
                return _info(dom)
            except BaseException:
                _ignoring({libvirt.VIR_ERR_NO_DOMAIN}, _hard_stop, dom)
                _ignoring({libvirt.VIR_ERR_NO_DOMAIN}, dom.undefineFlags, _UNDEFINE_FLAGS)
                raise

        return await self._run(f"spawn {spec.uuid}", define_and_start)

    async def power_on(self, uuid: str) -> None:
        def start(dom: Any) -> None:
            if not dom.isActive():
                dom.create()

        await self._on_domain(f"power on {uuid}", uuid, start)

    async def power_off(self, uuid: str, grace_period: float) -> None:
        def stop(dom: Any) -> None:
            if grace_period > 0 and dom.isActive():
                _ignoring({libvirt.VIR_ERR_OPERATION_INVALID}, dom.shutdown)
                if _wait_stopped(dom, grace_period):
                    return
                log.info(
                    "domain %s ignored ACPI shutdown for %s s: destroying it", uuid, grace_period
                )
            _hard_stop(dom)

        await self._on_domain(f"power off {uuid}", uuid, stop)

    async def reboot(self, uuid: str, *, hard: bool) -> None:
        def reboot(dom: Any) -> None:
            if hard:
                _hard_stop(dom)
                dom.create()
                return
            _require(dom, "soft reboot", DomainState.RUNNING)
            dom.reboot(libvirt.VIR_DOMAIN_REBOOT_ACPI_POWER_BTN)

        await self._on_domain(f"reboot {uuid}", uuid, reboot)

    async def pause(self, uuid: str) -> None:
        def pause(dom: Any) -> None:
            _require(dom, "pause", DomainState.RUNNING)
            dom.suspend()

        await self._on_domain(f"pause {uuid}", uuid, pause)

    async def unpause(self, uuid: str) -> None:
        def unpause(dom: Any) -> None:
            _require(dom, "unpause", DomainState.PAUSED)
            dom.resume()

        await self._on_domain(f"unpause {uuid}", uuid, unpause)

    async def suspend(self, uuid: str) -> None:
        def suspend(dom: Any) -> None:
            _require(dom, "suspend", DomainState.RUNNING, DomainState.PAUSED)
            dom.managedSave(0)

        await self._on_domain(f"suspend {uuid}", uuid, suspend)

    async def resume(self, uuid: str) -> None:
        def resume(dom: Any) -> None:
            _require(dom, "resume", DomainState.SUSPENDED)
            dom.create()  # restores the managed save image

        await self._on_domain(f"resume {uuid}", uuid, resume)

    async def destroy(self, uuid: str) -> None:
        def destroy(dom: Any) -> None:
            _hard_stop(dom)
            _ignoring({libvirt.VIR_ERR_NO_DOMAIN}, dom.undefineFlags, _UNDEFINE_FLAGS)

        try:
            await self._on_domain(f"destroy {uuid}", uuid, destroy)
        except DomainNotFound:
            pass  # already gone: destroy is idempotent

    async def attach_interface(self, uuid: str, interface: Interface) -> None:
        await self._wait_for_interface(interface)
        device = interface_xml(interface)

        def attach(dom: Any) -> None:
            flags, defined = _to_change(dom, interface.mac, present=True)
            if not flags:
                return
            try:
                dom.attachDeviceFlags(device, flags)
            except libvirt.libvirtError as e:
                if e.get_error_code() != libvirt.VIR_ERR_NO_SUPPORT:
                    raise
                if flags & _CONFIG:  # no hot-plug here: the definition alone
                    self._conn.defineXML(with_interface(defined, interface))

        await self._on_domain(f"attach interface {interface.mac} to {uuid}", uuid, attach)

    async def detach_interface(self, uuid: str, interface: Interface) -> None:
        device = interface_xml(interface)

        def detach(dom: Any) -> None:
            flags, defined = _to_change(dom, interface.mac, present=False)
            if not flags:
                return
            try:
                dom.detachDeviceFlags(device, flags)
            except libvirt.libvirtError as e:
                if e.get_error_code() != libvirt.VIR_ERR_NO_SUPPORT:
                    raise
                if flags & _CONFIG:  # no hot-unplug here: the definition alone
                    self._conn.defineXML(without_interface(defined, interface.mac))
                return
            # A live unplug finishes when the guest lets the device go.
            deadline = time.monotonic() + DETACH_WAIT
            while flags & _LIVE and interface.mac in interface_macs(dom.XMLDesc(0)):
                if time.monotonic() > deadline:
                    raise HypervisorError(f"the guest did not let interface {interface.mac} go")
                time.sleep(POLL_INTERVAL)

        await self._on_domain(f"detach interface {interface.mac} from {uuid}", uuid, detach)

    async def _wait_for_interface(self, interface: Interface) -> None:
        """Wait for what an interface plugs into: its host network."""
        await self._wait_for_network(interface.network)

    async def _wait_for_network(self, name: str) -> None:
        def running() -> bool:
            try:
                return bool(self._conn.networkLookupByName(name).isActive())
            except libvirt.libvirtError as e:
                if e.get_error_code() != libvirt.VIR_ERR_NO_NETWORK:
                    raise
                return False

        deadline = time.monotonic() + NETWORK_WAIT
        while not await self._run(f"look up network {name}", running):
            if time.monotonic() > deadline:
                raise HypervisorError(f"host network {name} is not running")
            await asyncio.sleep(POLL_INTERVAL)

    async def ensure_network(self, spec: NetworkSpec) -> None:
        def ensure() -> None:
            try:
                net = self._conn.networkLookupByName(spec.name)
            except libvirt.libvirtError as e:
                if e.get_error_code() != libvirt.VIR_ERR_NO_NETWORK:
                    raise
                net = None
            wanted = network_xml(spec, hosts=False)
            if net is not None and shape(net.XMLDesc(0)) != shape(wanted):
                _remove_network(net)
                net = None
            if net is None:
                net = self._conn.networkDefineXML(network_xml(spec))
            if not net.isActive():
                net.create()
            _set_leases(net, spec)

        await self._run(f"ensure network {spec.name}", ensure)

    async def remove_network(self, name: str) -> None:
        def remove() -> None:
            try:
                _remove_network(self._conn.networkLookupByName(name))
            except libvirt.libvirtError as e:
                if e.get_error_code() != libvirt.VIR_ERR_NO_NETWORK:
                    raise

        await self._run(f"remove network {name}", remove)

    async def list_networks(self) -> list[str]:
        def names() -> list[str]:
            return [net.name() for net in self._conn.listAllNetworks(0)]

        return await self._run("list networks", names)

    async def info(self, uuid: str) -> DomainInfo:
        return await self._on_domain(f"info {uuid}", uuid, _info)

    async def list_domains(self) -> list[DomainInfo]:
        def list_all() -> list[DomainInfo]:
            found = []
            for dom in self._conn.listAllDomains(0):
                try:
                    found.append(_info(dom))
                except libvirt.libvirtError as e:
                    if e.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                        raise  # else it vanished since the listing
            return found

        return await self._run("list domains", list_all)

    async def console_output(self, uuid: str, max_bytes: int = 64 * 1024) -> str:
        xml = await self._on_domain(f"console output {uuid}", uuid, lambda dom: dom.XMLDesc(0))
        path = serial_log_path(str(xml))
        if path is None:
            raise HypervisorError(f"console output {uuid}: the serial console is not a file")
        return await asyncio.to_thread(_tail, path, max_bytes)
