"""The compute worker of this process: its libvirt host, registered in the log, and the
reactor that carries out server requests on it."""

import asyncio
import logging
import os
import shutil
import signal
import socket
import subprocess
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

from events.postgres import PostgresEventStore
from events.subscription import SubscriptionRunner
from events.types import SYSTEM, Metadata
from service import heap
from service.compute import events as ev
from service.compute.guests import GuestFiles
from service.compute.hypervisor import Hypervisor
from service.compute.libvirt import LibvirtDriver
from service.compute.reactor import ComputeReactor
from service.compute.watcher import HostWatcher
from service.config import Settings
from service.image.stores import ImageStores, configured
from service.network.host import NetworkHost, firewall_for, routing_for
from service.network.nftables import Nftables
from service.storage.configured import backend_for

log = logging.getLogger("kumo.compute")
LIBVIRT_SOCKET = "/run/libvirt/libvirt-sock"
JOIN_TIMEOUT = 30.0
"""Seconds the reactor gets to join its group (the scheduler sees the host up from then)."""


class ComputeHost:
    """This process's hypervisor while its compute worker runs, or its connection to it for
    reading console logs (service/app.py: console_context); None otherwise. Console output
    is read through it."""

    hypervisor: Hypervisor | None = None


COMPUTE_HOST = web.AppKey("compute_host", ComputeHost)


def libvirt_uri(settings: Settings) -> str:
    """KUMO_LIBVIRT_URI, else qemu:///system when libvirtd runs (started here if installed
    but stopped), else libvirt's built-in test driver, with a loud warning."""
    if settings.libvirt_uri:
        return settings.libvirt_uri
    if not os.path.exists(LIBVIRT_SOCKET) and shutil.which("libvirtd") and os.geteuid() == 0:
        for daemon in ("virtlogd", "libvirtd"):
            subprocess.run([daemon, "-d"], check=False, capture_output=True)
    if os.path.exists(LIBVIRT_SOCKET):
        return "qemu:///system"
    log.warning(
        "no libvirt daemon: servers run on libvirt's test driver (test:///default), not as "
        "real machines; install libvirt-daemon-system and qemu-system-x86 for real ones"
    )
    return "test:///default"


async def register(
    store: PostgresEventStore, driver: Hypervisor, settings: Settings, name: str, uri: str
) -> None:
    """Record the host, with its zone and allocation ratios from the settings (again
    when any of it changed since its last registration)."""
    caps = await driver.capabilities()
    registered = ev.HostRegistered(
        host=name,
        uri=uri,
        hypervisor_type=caps.hypervisor_type,
        vcpus=caps.vcpus,
        memory_mb=caps.memory_mib,
        disk_gb=max(1, shutil.disk_usage("/").total // 1024**3),
        availability_zone=settings.availability_zone,
        cpu_allocation_ratio=settings.cpu_allocation_ratio,
        ram_allocation_ratio=settings.ram_allocation_ratio,
        disk_allocation_ratio=settings.disk_allocation_ratio,
        booted_at=boot_time(),
    )
    stream = f"host-{name}"
    earlier = [
        e.event for e in await store.read_stream(stream) if isinstance(e.event, ev.HostRegistered)
    ]
    if not earlier or earlier[-1] != registered:
        await store.append(stream, [registered], metadata=Metadata(actor=SYSTEM))


def boot_time(stat: Path = Path("/proc/stat")) -> datetime | None:
    """When this machine booted (the kernel's `btime`), or None where that cannot be read."""
    try:
        lines = stat.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("btime "):
            return datetime.fromtimestamp(int(line.split()[1]), UTC)
    return None


@asynccontextmanager
async def compute_worker(
    settings: Settings,
    store: PostgresEventStore,
    images: ImageStores,
    dsn: str | None = None,
    *,
    folder: Path | None = None,
) -> AsyncIterator[LibvirtDriver]:
    """Connect to the host's hypervisor, register it, and run its reactor in the block.
    Its guests' files go in `folder` (default: `compute` in the data folder)."""
    uri = libvirt_uri(settings)
    name = settings.host_name or socket.gethostname()
    async with LibvirtDriver(uri) as driver:
        await register(store, driver, settings, name, uri)
        guests = GuestFiles(folder or settings.data_dir / "compute", store, images)
        # The test driver has no bridges: NAT and rules for its guests would point nowhere.
        real = not uri.startswith("test:")
        nat = Nftables() if real else None
        firewall = await firewall_for(store, name) if real else None
        routing = await routing_for(store, name) if real else None
        network = NetworkHost(store, driver, name, nat, firewall, routing)
        reactor = ComputeReactor(store, driver, guests, name, ports=network)
        runner = SubscriptionRunner(store, dsn, reactor.subscription())
        await network.reconcile()
        tasks = [
            asyncio.create_task(runner.run()),
            asyncio.create_task(HostWatcher(store, driver, name).run()),
            asyncio.create_task(SubscriptionRunner(store, dsn, network.subscription()).run()),
        ]
        try:
            await asyncio.wait_for(runner.joined.wait(), JOIN_TIMEOUT)
            log.info("compute host ready", extra={"host": name, "uri": uri})
            yield driver
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


async def run_worker(
    settings: Settings,
    store: PostgresEventStore,
    database_url: str,
    *,
    on_ready: Callable[[str], object] | None = None,
) -> None:
    """Run only this host's compute worker (`kumo worker`) until SIGINT or SIGTERM. Its
    guests' files go in `hosts/<name>` of the data folder, so that workers sharing a
    machine never share a file. `on_ready` gets the host's name once it is registered
    and its reactor runs."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    name = settings.host_name or socket.gethostname()
    folder = settings.data_dir / "hosts" / name
    async with (
        backend_for(settings) as objects,
        configured(settings, objects) as images,
        compute_worker(settings, store, images, database_url, folder=folder),
    ):
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        heap.settle()
        try:
            if on_ready is not None:
                on_ready(name)
            await stop.wait()
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)
