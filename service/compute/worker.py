"""The compute worker of this process: its libvirt host, registered in the log, and the
reactor that carries out server requests on it."""

import asyncio
import logging
import os
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from events.postgres import PostgresEventStore
from events.subscription import SubscriptionRunner
from events.types import SYSTEM, Metadata
from service.compute import events as ev
from service.compute.directory import Host, get
from service.compute.guests import GuestFiles
from service.compute.hypervisor import Hypervisor
from service.compute.libvirt import LibvirtDriver
from service.compute.reactor import ComputeReactor
from service.compute.watcher import HostWatcher
from service.config import Settings
from service.storage.backend import ObjectBackend

log = logging.getLogger("kumo.compute")
LIBVIRT_SOCKET = "/run/libvirt/libvirt-sock"


class ComputeHost:
    """This process's hypervisor while its compute worker runs (None otherwise); console
    output is read through it."""

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


async def _register(store: PostgresEventStore, driver: LibvirtDriver, name: str, uri: str) -> None:
    """Record the host (again when what it offers changed)."""
    caps = await driver.capabilities()
    registered = ev.HostRegistered(
        host=name,
        uri=uri,
        hypervisor_type=caps.hypervisor_type,
        vcpus=caps.vcpus,
        memory_mb=caps.memory_mib,
        disk_gb=max(1, shutil.disk_usage("/").total // 1024**3),
    )
    known = await get(store.pool, Host, name)
    if known is None or (known.uri, known.vcpus, known.memory_mb) != (
        uri,
        caps.vcpus,
        caps.memory_mib,
    ):
        await store.append(f"host-{name}", [registered], metadata=Metadata(actor=SYSTEM))


@asynccontextmanager
async def compute_worker(
    settings: Settings, store: PostgresEventStore, objects: ObjectBackend, dsn: str | None = None
) -> AsyncIterator[LibvirtDriver]:
    """Connect to the host's hypervisor, register it, and run its reactor in the block."""
    uri = libvirt_uri(settings)
    name = settings.host_name or socket.gethostname()
    async with LibvirtDriver(uri) as driver:
        await _register(store, driver, name, uri)
        guests = GuestFiles(settings.data_dir / "compute", store, objects)
        reactor = ComputeReactor(store, driver, guests, name)
        runner = SubscriptionRunner(store, dsn, reactor.subscription())
        tasks = [
            asyncio.create_task(runner.run()),
            asyncio.create_task(HostWatcher(store, driver, name).run()),
        ]
        log.info("compute host ready", extra={"host": name, "uri": uri})
        try:
            yield driver
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
