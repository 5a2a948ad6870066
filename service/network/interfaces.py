"""How Kumo networks are named on a host, and the interfaces a server's domain gets:
one per port, on its network's host network, with the port's MAC address and a tap
device named after the port (its security group rules are keyed by it)."""

from typing import Any

from service.compute.directory import select
from service.compute.hypervisor import Interface
from service.network.directory import Port

BRIDGE_PREFIX = "kb-"


def host_network(network_id: str) -> str:
    """The name of a Kumo network's host network."""
    return f"kumo-{network_id}"


def bridge(network_id: str) -> str:
    """Its bridge: Linux allows 15 characters."""
    return f"{BRIDGE_PREFIX}{network_id.replace('-', '')[:12]}"


def tap_device(port_id: str) -> str:
    """The tap device of a port's interface, as Nova names it (Linux allows 15 characters)."""
    return f"tap{port_id[:11]}"


def interface(port_id: str, network_id: str, mac: str) -> Interface:
    """The interface of a port on a network, with its MAC address (at boot or hot-plugged)."""
    return Interface(host_network(network_id), mac, tap_device(port_id))


async def interfaces(db: Any, server_id: str) -> tuple[Interface, ...]:
    """A server's interfaces: one per port it has, in the ports' order."""
    ports = await select(db, Port, "device_id = $1", server_id)
    return tuple(interface(p.id, p.network_id, p.mac_address) for p in ports)
