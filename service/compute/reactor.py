"""The compute reactor of one host: it carries out what the log asks of servers and
records the outcome, so the log stays the single truth of what happened.

It follows the server streams through a checkpointed subscription (partitioned by
server, so servers proceed in parallel and each server's events in order). Handling is
synchronous with the checkpoint: after a crash the last events are handled again, so
every step is idempotent — the handler runs outside the checkpoint's transaction (it
holds no connection while a guest starts), results are appended with a command id derived from the
event (a repeat writes nothing), a domain that already runs counts as spawned, and
destroying a missing domain succeeds.

Every host's reactor reads the server events, and acts only on those of the servers
placed on its host: the API records the placement with the request
(service/compute/placement.py), so a server's events all go to one host.
"""

import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

import msgspec

from events.clock import Clock, SystemClock
from events.postgres import PostgresEventStore
from events.store import StreamAppend
from events.subscription import Subscription
from events.types import SYSTEM, Event, Metadata, RecordedEvent
from service.compute import events as ev
from service.compute.directory import Server, get_server
from service.compute.hosts import reactor_group
from service.compute.hypervisor import DomainSpec, DomainState, Hypervisor, HypervisorError
from service.image import stored_data
from service.image.events import ImageDeleted, ImageUploadAborted
from service.network.binding import release_from
from service.network.interfaces import interface
from service.storage.backend import StorageError, StoredObject

log = logging.getLogger("kumo.compute")

RUNNING, PAUSED, SHUTDOWN, SUSPENDED = (
    int(DomainState.RUNNING),
    int(DomainState.PAUSED),
    int(DomainState.SHUTDOWN),
    int(DomainState.SUSPENDED),
)
POWER_OFF_TIMEOUT = 60.0
"""Seconds a guest gets to shut down on ACPI before it is destroyed (Nova's default)."""

HANDLED = tuple(
    cls.type_name()
    for cls in (ev.ServerCreateRequested, ev.ServerDeleteRequested, ev.ServerActionRequested)
)


class Guests(Protocol):
    """Prepares what a server's guest needs on this host (disks, config drive, console
    log) and removes it again."""

    async def prepare(self, server: Server, user_data: str | None) -> DomainSpec:
        """The domain to start; HypervisorError if the disks cannot be made."""
        ...

    async def remove(self, server_id: str) -> None:
        """Delete the guest's files; missing files are fine."""
        ...

    async def snapshot(self, server_id: str, key: str) -> tuple[str, StoredObject]:
        """The guest's disk flattened and stored at `key` in an image store: which, and
        what it stored."""
        ...

    async def discard(self, key: str, stores: Sequence[str]) -> None:
        """Delete the bytes at `key` from each of `stores` (a rotated-out backup); missing
        is fine; StorageError if a store fails."""
        ...


class PortRules(Protocol):
    """The security group rules of this host's servers' ports (service/network/host.py)."""

    async def ready(self, server_id: str) -> None:
        """Put the rules of the server's ports in force; HypervisorError if they cannot be."""
        ...

    async def forget(self, server_id: str) -> None:
        """Remove the rules of the ports of a server whose guest is gone."""
        ...


class ComputeReactor:
    """Carries out server requests on one host and records their results. With `ports`,
    a guest starts only once its ports' rules are in force, and they go with it."""

    def __init__(
        self,
        store: PostgresEventStore,
        hypervisor: Hypervisor,
        guests: Guests,
        host_name: str,
        *,
        clock: Clock | None = None,
        ports: PortRules | None = None,
    ) -> None:
        self.store = store
        self.hypervisor = hypervisor
        self.guests = guests
        self.host_name = host_name
        self.clock = clock or SystemClock()
        self.ports = ports

    def subscription(self, partitions: int = 8) -> Subscription:
        return Subscription(
            group=reactor_group(self.host_name),
            handler=self.handle,
            partitions=partitions,
            types=HANDLED,
            categories=("server",),
            batch_size=1,
            poll_interval=0.5,
            in_transaction=False,
        )

    async def handle(self, conn: Any, events: Sequence[RecordedEvent]) -> None:
        for recorded in events:
            server = await get_server(self.store.pool, recorded.stream_id.removeprefix("server-"))
            if server is None or server.host != self.host_name:
                continue
            outcome = await self._carry_out(recorded, server)
            if outcome:
                await self._record(recorded, outcome)

    async def _carry_out(self, recorded: RecordedEvent, server: Server) -> list[StreamAppend]:
        stream = f"server-{server.id}"
        match recorded.event:
            case ev.ServerCreateRequested() as e:
                return [StreamAppend(stream, await self._create(server, e))]
            case ev.ServerDeleteRequested():
                await self._quietly(self.hypervisor.destroy(server.id))
                if self.ports is not None:
                    await self._quietly(self.ports.forget(server.id))
                await self._quietly(self.guests.remove(server.id))
                # a resize waiting for confirmation holds the larger of both flavors
                held = [server.flavor, server.previous_flavor or server.flavor]
                released = ev.ResourcesReleased(
                    project_id=server.project_id,
                    server_id=server.id,
                    instances=1,
                    cores=max(f.vcpus for f in held),
                    ram=max(f.ram for f in held),
                )
                return [
                    StreamAppend(stream, [ev.ServerDeleted(server_id=server.id)]),
                    StreamAppend(f"quota-{server.project_id}", [released]),
                ]
            case ev.ServerActionRequested(action="createImage" | "createBackup") as e:
                return await self._snapshot(server, e)
            case ev.ServerActionRequested(action="attach_interface" | "detach_interface") as e:
                return await self._interface(server, e)
            case ev.ServerActionRequested(action=action, params=params):
                return [StreamAppend(stream, [await self._action(server, action, params)])]
        return []

    async def _create(self, server: Server, e: ev.ServerCreateRequested) -> list[Event]:
        if server.vm_state != "building" or server.task_state == "deleting":
            return []
        try:
            spec = await self.guests.prepare(server, e.user_data)
            if self.ports is not None:
                await self.ports.ready(server.id)
            await self.hypervisor.spawn(spec)
        except HypervisorError as error:
            await self._quietly(self.guests.remove(server.id))
            return [ev.ServerFailed(server_id=server.id, message=str(error))]
        return [
            ev.ServerActive(server_id=server.id, host=self.host_name, launched_at=self.clock.now())
        ]

    async def _snapshot(
        self, server: Server, request: ev.ServerActionRequested
    ) -> list[StreamAppend]:
        """createImage or createBackup: the disk into the image service, then the server
        back to idle; a backup's older siblings past its rotation are deleted."""
        image_id = request.params["image_id"]
        image_stream = f"image-{image_id}"
        try:
            image_store, stored = await self.guests.snapshot(server.id, f"images/{image_id}")
        except (HypervisorError, StorageError) as error:
            return [
                StreamAppend(
                    image_stream, [ImageUploadAborted(image_id=image_id, reason=str(error))]
                ),
                StreamAppend(
                    f"server-{server.id}",
                    [
                        ev.ServerActionFailed(
                            server_id=server.id, action=request.action, message=str(error)
                        )
                    ],
                ),
            ]
        activated = stored_data.activated(image_id, stored, (image_store,))
        done = ev.ServerActionSucceeded(
            server_id=server.id,
            action=request.action,
            vm_state=server.vm_state,
            power_state=server.power_state,
        )
        appends: dict[str, list[Event]] = {image_stream: [activated], f"server-{server.id}": [done]}
        if request.action == "createBackup":
            newest = (image_id, stored.key, [image_store])
            for old_id, location, stores in await self._rotated_out(
                server.id, request.params, newest
            ):
                deleted = ImageDeleted(image_id=old_id, location=location, stores=tuple(stores))
                appends.setdefault(f"image-{old_id}", []).append(deleted)
        return [StreamAppend(stream, events) for stream, events in appends.items()]

    async def _rotated_out(
        self, server_id: str, params: dict[str, Any], newest: tuple[str, str, list[str]]
    ) -> list[tuple[str, str, list[str]]]:
        """The server's backups of the type in `params` past its `rotation`, counting from
        the `newest` (id, stored key, stores), whose bytes are now gone: Nova keeps the newest
        `rotation` (0: none, not even the new one). One whose bytes cannot be deleted now
        stays, to go with a later backup."""
        rows = await self.store.pool.fetch(
            "SELECT id, location, stores FROM rm_images WHERE properties->>'instance_uuid' = $1"
            " AND properties->>'image_type' = 'backup' AND properties->>'backup_type' = $2"
            " AND id <> $3 AND status = 'active' ORDER BY created_at DESC, id DESC",
            server_id,
            params["backup_type"],
            newest[0],
        )
        backups = [newest, *((r["id"], r["location"], r["stores"]) for r in rows)]
        gone = []
        for image_id, location, stores in backups[params["rotation"] :]:
            try:
                await self.guests.discard(location, stores)
            except StorageError as error:
                log.warning("a rotated-out backup stays", extra={"error": str(error)})
                continue
            gone.append((image_id, location, stores))
        return gone

    async def _interface(
        self, server: Server, request: ev.ServerActionRequested
    ) -> list[StreamAppend]:
        """os-interface: plug or unplug a port's interface. The port is let go of (deleted
        if made for the attach, else unbound) once unplugged, or when plugging failed."""
        if server.task_state == "deleting":
            return []  # the server's ports go with it
        params = request.params
        plug = interface(params["port_id"], params["network_id"], params["mac_address"])
        attach = request.action == "attach_interface"
        outcome: Event
        try:
            if attach:
                if self.ports is not None:
                    await self.ports.ready(server.id)
                await self.hypervisor.attach_interface(server.id, plug)
            else:
                await self.hypervisor.detach_interface(server.id, plug)
        except HypervisorError as error:
            outcome = ev.ServerActionFailed(
                server_id=server.id, action=request.action, message=str(error)
            )
            release = attach
        else:
            outcome = ev.ServerActionSucceeded(
                server_id=server.id,
                action=request.action,
                vm_state=server.vm_state,
                power_state=server.power_state,
            )
            release = not attach
        appends = [StreamAppend(f"server-{server.id}", [outcome])]
        if release:
            appends += await release_from(self.store.pool, params["port_id"], server.id)
        return appends

    async def _action(self, server: Server, action: str, params: dict[str, Any]) -> Event:
        hv = self.hypervisor
        uuid_ = server.id
        steps: dict[str, tuple[Callable[[], Awaitable[None]], str, int]] = {
            "stop": (lambda: hv.power_off(uuid_, POWER_OFF_TIMEOUT), "stopped", SHUTDOWN),
            "start": (lambda: hv.power_on(uuid_), "active", RUNNING),
            "pause": (lambda: hv.pause(uuid_), "paused", PAUSED),
            "unpause": (lambda: hv.unpause(uuid_), "active", RUNNING),
            "suspend": (lambda: hv.suspend(uuid_), "suspended", SUSPENDED),
            "resume": (lambda: hv.resume(uuid_), "active", RUNNING),
            "reboot": (
                lambda: hv.reboot(uuid_, hard=params.get("type") == "HARD"),
                "active",
                RUNNING,
            ),
            # the guest reads its network from DHCP and its config drive: nothing to push
            "injectNetworkInfo": (_nothing, server.vm_state, server.power_state),
        }
        changes: dict[str, Any] = {}
        try:
            if action in steps:
                operation, vm_state, power = steps[action]
                await operation()
            elif action == "rebuild":
                changes = {k: v for k, v in params.items() if k in ("image_id", "name")}
                await hv.destroy(uuid_)
                await self.guests.remove(uuid_)
                rebuilt = msgspec.structs.replace(server, image_id=params["image_id"])
                # the server's user data, as created or as the rebuild gave it (2.57)
                await hv.spawn(await self.guests.prepare(rebuilt, server.user_data))
                vm_state, power = "active", RUNNING
                if server.vm_state == "stopped":  # a stopped server stays stopped (Nova's)
                    await hv.power_off(uuid_, 0)
                    vm_state, power = "stopped", SHUTDOWN
            elif action == "resize":
                changes = {"flavor": params["flavor"], "previous_flavor": server.flavor}
                vm_state, power = "resized", server.power_state
            elif action == "confirmResize":
                changes = {"previous_flavor": None}
                vm_state, power = "active", server.power_state
            elif action == "revertResize":
                changes = {"flavor": server.previous_flavor, "previous_flavor": None}
                vm_state, power = "active", server.power_state
            else:
                return ev.ServerActionFailed(
                    server_id=server.id, action=action, message=f"unknown action {action}"
                )
        except HypervisorError as error:
            return ev.ServerActionFailed(server_id=server.id, action=action, message=str(error))
        return ev.ServerActionSucceeded(
            server_id=server.id,
            action=action,
            vm_state=vm_state,
            power_state=power,
            changes=msgspec.to_builtins(changes),
        )

    async def _quietly(self, operation: Awaitable[None]) -> None:
        """Run a clean-up step whose failure must not stop a delete; log it."""
        try:
            await operation
        except HypervisorError as error:
            log.warning("clean-up step failed", extra={"error": str(error)})

    async def _record(self, cause: RecordedEvent, appends: list[StreamAppend]) -> None:
        appends = [a for a in appends if a.events]
        if not appends:
            return
        metadata = Metadata(
            actor=SYSTEM,
            request_id=cause.metadata.request_id,
            causation_id=str(cause.event_id),
            correlation_id=cause.metadata.correlation_id,
        )
        command_id = uuid.uuid5(uuid.NAMESPACE_OID, f"kumo-compute:{cause.event_id}")
        await self.store.append_streams(appends, metadata=metadata, command_id=command_id)


async def _nothing() -> None:
    """An action step with nothing to do on the hypervisor."""
