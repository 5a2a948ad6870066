"""A port's life with a server: the appends that delete a port and that release one from
its server (deleted when Kumo made it for the server, unbound when it was given), shared
by the port API, Nova's side of networking and the compute reactor (which releases a
port once its interface is unplugged)."""

from collections.abc import Sequence
from typing import Any

from events.store import StreamAppend
from service.compute.directory import get, select
from service.network import events as ev
from service.network.directory import FloatingIp, Port


def deleted(port: Port, floating_ips: Sequence[FloatingIp]) -> list[StreamAppend]:
    """The appends deleting a port: its floating IPs let go of it, then it goes."""
    released = [
        StreamAppend(
            f"floatingip-{f.id}", [ev.FloatingIpAssociated(floating_ip_id=f.id, port_id=None)]
        )
        for f in floating_ips
    ]
    gone = ev.PortDeleted(port_id=port.id, project_id=port.project_id)
    return [*released, StreamAppend(f"port-{port.id}", [gone], port.revision_number)]


def released(port: Port, floating_ips: Sequence[FloatingIp]) -> list[StreamAppend]:
    """The appends releasing a port from its server: deleted (with its floating IPs let
    go) if it was made for the server, else unbound and kept."""
    if port.auto_delete:
        return deleted(port, [f for f in floating_ips if f.port_id == port.id])
    unbound = ev.PortUpdated(port_id=port.id, device_id="", device_owner="")
    return [StreamAppend(f"port-{port.id}", [unbound], port.revision_number)]


async def floating_ips_of(db: Any, port_ids: Sequence[str]) -> list[FloatingIp]:
    return await select(db, FloatingIp, "port_id = ANY($1)", list(port_ids))


async def release_from(db: Any, port_id: str, server_id: str) -> list[StreamAppend]:
    """The appends releasing the port if it is still bound to the server; none if it is
    gone or bound elsewhere."""
    port = await get(db, Port, port_id)
    if port is None or port.device_id != server_id:
        return []
    return released(port, await floating_ips_of(db, [port.id]))
