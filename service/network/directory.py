"""Reading the network read models (rm_* of migrations/0009_network.sql, 0027 and 0037):
typed rows, read through service/compute/directory.py's `get`, `select` and `count`."""

from datetime import datetime

import msgspec

from service.compute.directory import register
from service.network.events import AllocationPool, FixedIp, HostRoute, Route


class Network(msgspec.Struct, frozen=True):
    id: str
    project_id: str
    name: str
    description: str
    admin_state_up: bool
    shared: bool
    external: bool
    is_default: bool
    mtu: int
    port_security_enabled: bool
    created_at: datetime
    updated_at: datetime
    revision_number: int


class Subnet(msgspec.Struct, frozen=True):
    id: str
    network_id: str
    project_id: str
    name: str
    description: str
    ip_version: int
    cidr: str
    gateway_ip: str | None
    allocation_pools: list[AllocationPool]
    dns_nameservers: list[str]
    host_routes: list[HostRoute]
    enable_dhcp: bool
    created_at: datetime
    updated_at: datetime
    revision_number: int


class Port(msgspec.Struct, frozen=True):
    id: str
    network_id: str
    project_id: str
    name: str
    description: str
    mac_address: str
    admin_state_up: bool
    device_id: str
    device_owner: str
    fixed_ips: list[FixedIp]
    security_groups: list[str]
    port_security_enabled: bool
    binding_host_id: str
    auto_delete: bool
    created_at: datetime
    updated_at: datetime
    revision_number: int


class FloatingIp(msgspec.Struct, frozen=True):
    id: str
    project_id: str
    floating_network_id: str
    floating_ip_address: str
    port_id: str | None
    fixed_ip_address: str | None
    router_id: str | None
    description: str
    created_at: datetime
    updated_at: datetime
    revision_number: int


class Router(msgspec.Struct, frozen=True):
    id: str
    project_id: str
    name: str
    description: str
    admin_state_up: bool
    routes: list[Route]
    gateway_network_id: str | None
    gateway_port_id: str | None
    enable_snat: bool
    created_at: datetime
    updated_at: datetime
    revision_number: int


register(Network, "rm_networks", "id", "created_at, id")
register(Subnet, "rm_subnets", "id", "created_at, id")
register(Port, "rm_ports", "id", "created_at, id")
register(FloatingIp, "rm_floating_ips", "id", "created_at, id")
register(Router, "rm_routers", "id", "created_at, id")

ROUTER_INTERFACE = "network:router_interface"
ROUTER_GATEWAY = "network:router_gateway"
"""The device owners of a router's ports (their device_id is the router's id)."""

NETWORK_VISIBLE = "(project_id = {p} OR shared OR external)"
"""The condition on rm_networks for networks a project sees; `{p}` is its argument."""
