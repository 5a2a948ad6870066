"""The `Hypervisor` seam: what the compute reactor asks of a host's virtualisation.

One real implementation, `service.compute.libvirt.LibvirtDriver`. Domains are named by
their UUID (the server's id). Every failure is a `HypervisorError`: `DomainNotFound`,
`InvalidDomainState` (the domain cannot do that in its current state), or
`HypervisorUnavailable` (the host cannot be reached).
"""

import asyncio
import enum
from types import TracebackType
from typing import ClassVar, Protocol, Self

import msgspec


class HypervisorError(Exception):
    """An operation on the hypervisor failed; the message says which and why."""


class DomainNotFound(HypervisorError):
    """No domain has this UUID on this host."""


class InvalidDomainState(HypervisorError):
    """The domain exists but cannot do this now (e.g. pause a shut-off domain)."""


class HypervisorUnavailable(HypervisorError):
    """The hypervisor cannot be reached (daemon down, connection lost)."""


class DomainType(enum.StrEnum):
    """libvirt's `<domain type>`: hardware virtualisation or emulation (TCG)."""

    KVM = "kvm"
    QEMU = "qemu"


class DomainState(enum.IntEnum):
    """Nova's power states (`OS-EXT-STS:power_state`); drivers map their own onto them."""

    NOSTATE = 0
    RUNNING = 1
    PAUSED = 3
    SHUTDOWN = 4
    CRASHED = 6
    SUSPENDED = 7


class Interface(msgspec.Struct, frozen=True):
    """A network interface of a domain: on the host network `network`, with a port's MAC,
    its tap device named `device` (None: the hypervisor's choice)."""

    network: str
    mac: str
    device: str | None = None


class DhcpHost(msgspec.Struct, frozen=True, order=True):
    """A fixed DHCP lease: the address a MAC address always gets."""

    mac: str
    ip: str


class NetworkSpec(msgspec.Struct, frozen=True, kw_only=True):
    """One host network: a bridge, the host's `address`/`prefix` on it (none: the bridge
    alone), and DHCP handing out `dhcp_range` with a fixed lease per port (`hosts`)."""

    name: str
    bridge: str
    address: str | None = None
    prefix: int = 24
    dhcp_range: tuple[str, str] | None = None
    hosts: tuple[DhcpHost, ...] = ()


class DomainSpec(msgspec.Struct, frozen=True, kw_only=True):
    """Everything needed to define one domain. Paths are absolute, on the host.

    `disks` are qcow2 files attached as virtio disks in order (the first is the root).
    With `kernel` the domain boots it directly (with `initrd` and `cmdline`); without,
    it boots from its first disk. `config_drive` is an ISO attached as a read-only
    cdrom. `interfaces` are virtio NICs on host networks. `domain_type` None means the
    host's default (see `HostCapabilities`).
    """

    uuid: str
    name: str
    vcpus: int
    memory_mib: int
    serial_log: str
    disks: tuple[str, ...] = ()
    kernel: str | None = None
    initrd: str | None = None
    cmdline: str | None = None
    config_drive: str | None = None
    interfaces: tuple[Interface, ...] = ()
    machine: str = "pc"
    domain_type: DomainType | None = None
    tb_cache_mib: int = 16
    """The TCG translation cache (QEMU's default is 1 GiB of address space); kvm ignores it."""


class DomainInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A domain as the hypervisor sees it now."""

    uuid: str
    name: str
    state: DomainState
    vcpus: int
    memory_mib: int
    cpu_time_ns: int


class HostCapabilities(msgspec.Struct, frozen=True, kw_only=True):
    """What this host offers, probed once per connection (os-hypervisors)."""

    hostname: str
    hypervisor_type: str
    hypervisor_version: int
    domain_type: DomainType
    arch: str
    vcpus: int
    memory_mib: int


class DriverFeatures(msgspec.Struct, frozen=True, kw_only=True):
    """What a driver implements, declared by the driver (not probed)."""

    soft_reboot: bool
    hard_reboot: bool
    pause: bool
    suspend: bool
    console_output: bool
    config_drive: bool
    lifecycle_events: bool


class LifecycleKind(enum.StrEnum):
    """What happened to a domain, whoever caused it."""

    DEFINED = "defined"
    UNDEFINED = "undefined"
    STARTED = "started"
    SUSPENDED = "suspended"
    """Paused (libvirt calls a paused domain suspended)."""
    RESUMED = "resumed"
    STOPPED = "stopped"
    SHUTDOWN = "shutdown"
    """The guest finished shutting down; STOPPED follows when the process is gone."""
    PMSUSPENDED = "pmsuspended"
    CRASHED = "crashed"
    REBOOTED = "rebooted"


class LifecycleEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One lifecycle event of one domain; `detail` is the driver's reason code."""

    uuid: str
    name: str
    kind: LifecycleKind
    detail: int = 0


class LifecycleSubscription:
    """An async iterator of the lifecycle events published after it was opened.

    Events queue until read (unbounded), so read them or `close()` it; iterating a
    closed subscription ends once the events already queued are read.
    """

    def __init__(self, hub: "LifecycleHub") -> None:
        self._hub = hub
        self._queue: asyncio.Queue[LifecycleEvent | None] = asyncio.Queue()

    def put(self, event: LifecycleEvent | None) -> None:
        """Queue an event (None marks the end); called by the hub."""
        self._queue.put_nowait(event)

    async def next(self, within: float) -> LifecycleEvent:
        """The next event; TimeoutError after `within` seconds, StopAsyncIteration if closed."""
        async with asyncio.timeout(within):
            return await self.__anext__()

    def close(self) -> None:
        """Stop receiving events; idempotent."""
        if self._hub.remove(self):
            self.put(None)

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> LifecycleEvent:
        event = await self._queue.get()
        if event is None:
            raise StopAsyncIteration
        return event

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class LifecycleHub:
    """Fans lifecycle events out to every open subscription (event-loop thread only)."""

    def __init__(self) -> None:
        self._subscriptions: list[LifecycleSubscription] = []

    def subscribe(self) -> LifecycleSubscription:
        """A new subscription, receiving every event published from now on."""
        subscription = LifecycleSubscription(self)
        self._subscriptions.append(subscription)
        return subscription

    def remove(self, subscription: LifecycleSubscription) -> bool:
        """Forget a subscription; whether it was still open."""
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)
            return True
        return False

    def publish(self, event: LifecycleEvent) -> None:
        """Queue `event` on every open subscription."""
        for subscription in self._subscriptions:
            subscription.put(event)

    def close_all(self) -> None:
        """End every open subscription."""
        for subscription in list(self._subscriptions):
            subscription.close()


class Hypervisor(Protocol):
    """One host's hypervisor. Methods never block the event loop.

    Every method raises `HypervisorUnavailable` when the host cannot be reached and
    `DomainNotFound` for an unknown UUID, except where stated otherwise.
    """

    features: ClassVar[DriverFeatures]

    async def capabilities(self) -> HostCapabilities:
        """The host's resources and the domain type it runs (cached per connection)."""
        ...

    async def spawn(self, spec: DomainSpec) -> DomainInfo:
        """Define and start a domain; its disks and config drive must already exist.

        If spawning fails, partial state is cleaned up (no domain is left defined) and
        HypervisorError is raised. A domain with the same UUID already defined is
        started as it is (idempotent retry after a crash). The host networks of its
        interfaces are waited for (they are realised separately, see `ensure_network`);
        one that is not running within a while is a HypervisorError.
        """
        ...

    async def power_on(self, uuid: str) -> None:
        """Start a defined, shut-off domain (restoring a suspended one); running: no-op."""
        ...

    async def power_off(self, uuid: str, grace_period: float) -> None:
        """ACPI shutdown, then a hard stop if still running after `grace_period` seconds.

        `grace_period` 0 stops at once. Already shut off: no-op. The domain stays defined.
        """
        ...

    async def reboot(self, uuid: str, *, hard: bool) -> None:
        """Soft: ACPI reboot (the guest may ignore it). Hard: stop and start again,
        which also starts a shut-off domain."""
        ...

    async def pause(self, uuid: str) -> None:
        """Freeze the vCPUs, memory kept in RAM. InvalidDomainState unless running."""
        ...

    async def unpause(self, uuid: str) -> None:
        """Undo `pause`. InvalidDomainState unless paused."""
        ...

    async def suspend(self, uuid: str) -> None:
        """Save the memory to disk and stop (Nova's suspend). InvalidDomainState unless
        running or paused."""
        ...

    async def resume(self, uuid: str) -> None:
        """Undo `suspend`. InvalidDomainState unless suspended."""
        ...

    async def destroy(self, uuid: str) -> None:
        """Stop the domain at once and undefine it with its saved state.

        Destroying a missing domain succeeds. Disks and config drive are the caller's.
        """
        ...

    async def attach_interface(self, uuid: str, interface: Interface) -> None:
        """Plug `interface` into the domain: into the running guest and its definition, or
        into the definition only while it is shut off (the guest sees it at its next
        start). Its host network is waited for as in `spawn`. An
        interface with that MAC address already plugged is left alone. A driver that
        cannot hot-plug (libvirt's test driver) changes the definition only."""
        ...

    async def detach_interface(self, uuid: str, interface: Interface) -> None:
        """Unplug the interface with `interface.mac` from the guest and its definition,
        and wait until the guest has let it go (HypervisorError if it does not within a
        while). None with that MAC address: no-op."""
        ...

    async def info(self, uuid: str) -> DomainInfo:
        """The domain's state and resources now."""
        ...

    async def list_domains(self) -> list[DomainInfo]:
        """Every domain defined on the host, running or not."""
        ...

    async def console_output(self, uuid: str, max_bytes: int = 64 * 1024) -> str:
        """The last `max_bytes` of the serial console log ('' before the guest wrote any).

        Undecodable bytes are replaced. The log must be readable from this process.
        """
        ...

    def subscribe(self) -> LifecycleSubscription:
        """Lifecycle events of every domain on the host, from now on."""
        ...

    async def ensure_network(self, spec: NetworkSpec) -> None:
        """Make the host network `spec.name` match `spec` and run it: defined (again when
        its bridge, address or DHCP range changed), started, its fixed leases exactly
        `spec.hosts` (changed live). HypervisorError when it cannot start, e.g. because
        its address range is already another network's on this host."""
        ...

    async def remove_network(self, name: str) -> None:
        """Stop and undefine a host network; removing a missing one succeeds."""
        ...

    async def list_networks(self) -> list[str]:
        """The names of the host networks defined on this host."""
        ...

    async def close(self) -> None:
        """Release the connection; open subscriptions end. Idempotent."""
        ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...
