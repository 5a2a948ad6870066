"""Keeping the log true to what the hypervisor did: lifecycle events Kumo did not ask
for (a guest that powered itself off, a crash) become `ServerPowerObserved` events, and
a periodic reconciliation records drift between the log and the host's domains and
destroys the domains of deleted servers (left by a crash during a delete)."""

import asyncio
import logging
from collections.abc import Sequence

from events.errors import WrongExpectedVersion
from events.postgres import PostgresEventStore
from events.types import SYSTEM, Metadata
from service.compute import events as ev
from service.compute.directory import Server, get_server, select
from service.compute.hypervisor import (
    DomainNotFound,
    DomainState,
    Hypervisor,
    HypervisorError,
    LifecycleEvent,
    LifecycleKind,
)
from service.compute.server_view import instance_name

log = logging.getLogger("kumo.compute")
RECONCILE_INTERVAL = 60.0
_OBSERVED = {
    LifecycleKind.STOPPED: ("stopped", DomainState.SHUTDOWN),
    LifecycleKind.SHUTDOWN: ("stopped", DomainState.SHUTDOWN),
    LifecycleKind.CRASHED: ("stopped", DomainState.CRASHED),
}
_EXPECTED = {
    "active": DomainState.RUNNING,
    "stopped": DomainState.SHUTDOWN,
    "paused": DomainState.PAUSED,
}


class HostWatcher:
    """Watches one host's domains on behalf of the log."""

    def __init__(self, store: PostgresEventStore, hypervisor: Hypervisor, host: str) -> None:
        self.store = store
        self.hypervisor = hypervisor
        self.host = host

    async def run(self, interval: float = RECONCILE_INTERVAL) -> None:
        """Follow lifecycle events and reconcile every `interval` seconds, until cancelled."""
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self.follow_lifecycle())
            tasks.create_task(self._reconcile_forever(interval))

    async def follow_lifecycle(self) -> None:
        with self.hypervisor.subscribe() as events:
            async for event in events:
                await self.lifecycle(event)

    async def lifecycle(self, event: LifecycleEvent) -> None:
        """Record a stop or crash of an active server's domain that Kumo did not ask for."""
        observed = _OBSERVED.get(event.kind)
        if observed is None:
            return
        server = await get_server(self.store.pool, event.uuid)
        # Kumo's own stops and deletes have a task state: only the rest is news.
        if server is None or server.deleted or server.task_state is not None:
            return
        if server.vm_state == "active":
            await self._observe(server, *observed, f"the hypervisor reported {event.kind}")

    async def _reconcile_forever(self, interval: float) -> None:
        while True:
            try:
                await self.reconcile()
            except HypervisorError as error:
                log.warning("reconciliation failed", extra={"error": str(error)})
            await asyncio.sleep(interval)

    async def reconcile(self) -> list[str]:
        """Record every difference between the log and the domains of this host, destroy
        orphan domains; what was fixed, one line each."""
        fixed: list[str] = []
        domains = {d.uuid: d for d in await self.hypervisor.list_domains()}
        servers: Sequence[Server] = await select(
            self.store.pool, Server, "host = $1 AND NOT deleted", self.host
        )
        for server in servers:
            expected = _EXPECTED.get(server.vm_state)
            if expected is None or server.task_state is not None:
                continue
            domain = domains.get(server.id)
            actual = domain.state if domain is not None else DomainState.SHUTDOWN
            if actual != expected and expected == DomainState.RUNNING:
                await self._observe(server, "stopped", actual, "reconciliation: not running")
                fixed.append(f"{server.id}: active in the log, {actual.name} on the host")
        owned = {s.id for s in servers}
        for uuid in domains.keys() - owned:
            # Only domains of servers this log knows were deleted: the host may run
            # machines Kumo never made, or another cloud's, and those are not ours to end.
            if domains[uuid].name != instance_name(uuid):
                continue
            known = await get_server(self.store.pool, uuid)
            if known is not None and known.deleted:
                await self.hypervisor.destroy(uuid)
                fixed.append(f"{uuid}: domain of a deleted server destroyed")
        for line in fixed:
            log.warning("reconciled", extra={"host": self.host, "fixed": line})
        return fixed

    async def _observe(self, server: Server, vm_state: str, power: int, reason: str) -> None:
        """Record that `server`, as read, has stopped; unless that is no longer true: its
        domain runs (the stop seen was part of an operation that has ended since, as a
        hard reboot's), or its log moved on after it was read (an operation began). Not
        when the hypervisor cannot say: a lifecycle follower must not stop on that."""
        try:
            running = (await self.hypervisor.info(server.id)).state == DomainState.RUNNING
        except DomainNotFound:
            running = False
        except HypervisorError as error:  # unconfirmed: the next reconciliation looks again
            log.warning("stop not confirmed", extra={"server": server.id, "error": str(error)})
            return
        if running:
            return
        observed = ev.ServerPowerObserved(
            server_id=server.id, vm_state=vm_state, power_state=int(power), reason=reason
        )
        try:
            await self.store.append(
                f"server-{server.id}", [observed], server.version, metadata=Metadata(actor=SYSTEM)
            )
        except WrongExpectedVersion:
            log.info("observation superseded", extra={"server": server.id, "reason": reason})
