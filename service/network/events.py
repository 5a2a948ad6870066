"""Network events. Streams: `network-<id>`, `subnet-<id>`, `port-<id>`,
`floatingip-<id>` and `router-<id>`, each the whole life of one resource. Security groups keep their
compute events (`secgroup-<id>`, service/compute/events.py); quota limits are the
compute `QuotaLimitsSet` on `quota-<project id>`, under Neutron's resource names.

A router's ports (its interfaces and its gateway) are ports of their own streams, owned
by `device_owner` network:router_interface / network:router_gateway and `device_id` the
router; each change to them is appended with an event on the router's stream too, so
that changes to one router take turns (its stream version).

A port's addresses are in its events (`fixed_ips`); the IPAM read model refuses an
append that takes an address already taken, so allocation is exact however many
requests race (service/network/ipam.py).
"""

from msgspec import UNSET, Struct, UnsetType

from events.types import Event


class FixedIp(Struct, frozen=True):
    subnet_id: str
    ip_address: str


class AllocationPool(Struct, frozen=True):
    start: str
    end: str


class HostRoute(Struct, frozen=True):
    destination: str
    nexthop: str


class NetworkCreated(Event, frozen=True):
    network_id: str
    project_id: str
    name: str = ""
    description: str = ""
    admin_state_up: bool = True
    shared: bool = False
    external: bool = False
    is_default: bool = False
    mtu: int = 1500
    port_security_enabled: bool = True


class NetworkUpdated(Event, frozen=True):
    network_id: str
    name: str | UnsetType = UNSET
    description: str | UnsetType = UNSET
    admin_state_up: bool | UnsetType = UNSET
    shared: bool | UnsetType = UNSET
    external: bool | UnsetType = UNSET
    is_default: bool | UnsetType = UNSET
    mtu: int | UnsetType = UNSET
    port_security_enabled: bool | UnsetType = UNSET


class NetworkDeleted(Event, frozen=True):
    network_id: str
    project_id: str


class SubnetCreated(Event, frozen=True):
    subnet_id: str
    network_id: str
    project_id: str
    cidr: str
    ip_version: int = 4
    gateway_ip: str | None = None
    allocation_pools: tuple[AllocationPool, ...] = ()
    dns_nameservers: tuple[str, ...] = ()
    host_routes: tuple[HostRoute, ...] = ()
    enable_dhcp: bool = True
    name: str = ""
    description: str = ""


class SubnetUpdated(Event, frozen=True):
    subnet_id: str
    name: str | UnsetType = UNSET
    description: str | UnsetType = UNSET
    gateway_ip: str | None | UnsetType = UNSET
    allocation_pools: tuple[AllocationPool, ...] | UnsetType = UNSET
    dns_nameservers: tuple[str, ...] | UnsetType = UNSET
    host_routes: tuple[HostRoute, ...] | UnsetType = UNSET
    enable_dhcp: bool | UnsetType = UNSET


class SubnetDeleted(Event, frozen=True):
    subnet_id: str
    project_id: str


class PortCreated(Event, frozen=True):
    """A port and the addresses it took; `auto_delete` ports go with their server."""

    port_id: str
    network_id: str
    project_id: str
    mac_address: str
    fixed_ips: tuple[FixedIp, ...] = ()
    name: str = ""
    description: str = ""
    admin_state_up: bool = True
    device_id: str = ""
    device_owner: str = ""
    security_groups: tuple[str, ...] = ()
    port_security_enabled: bool = True
    binding_host_id: str = ""
    auto_delete: bool = False


class PortUpdated(Event, frozen=True):
    """Changed attributes; a new `fixed_ips` releases the old addresses and takes these."""

    port_id: str
    name: str | UnsetType = UNSET
    description: str | UnsetType = UNSET
    admin_state_up: bool | UnsetType = UNSET
    mac_address: str | UnsetType = UNSET
    fixed_ips: tuple[FixedIp, ...] | UnsetType = UNSET
    device_id: str | UnsetType = UNSET
    device_owner: str | UnsetType = UNSET
    security_groups: tuple[str, ...] | UnsetType = UNSET
    port_security_enabled: bool | UnsetType = UNSET
    binding_host_id: str | UnsetType = UNSET


class PortDeleted(Event, frozen=True):
    """The port is gone and its addresses are free."""

    port_id: str
    project_id: str


class FloatingIpCreated(Event, frozen=True):
    """A floating IP, associated at once if `port_id` is given, through `router_id` (None
    in events of Kumo before it required a router)."""

    floating_ip_id: str
    project_id: str
    floating_network_id: str
    subnet_id: str
    floating_ip_address: str
    description: str = ""
    port_id: str | None = None
    fixed_ip_address: str | None = None
    router_id: str | None = None


class FloatingIpAssociated(Event, frozen=True):
    """The floating IP now reaches `fixed_ip_address` on `port_id` (None: nothing)
    through the router `router_id`, whose gateway is on its network and which has an
    interface on the fixed address's subnet (None when disassociated, and in events of
    Kumo before it required a router)."""

    floating_ip_id: str
    port_id: str | None
    fixed_ip_address: str | None = None
    router_id: str | None = None


class FloatingIpUpdated(Event, frozen=True):
    floating_ip_id: str
    description: str


class FloatingIpDeleted(Event, frozen=True):
    floating_ip_id: str
    project_id: str


class Route(Struct, frozen=True):
    """An extra route of a router: `destination` (a CIDR) through `nexthop`."""

    destination: str
    nexthop: str


class RouterCreated(Event, frozen=True):
    router_id: str
    project_id: str
    name: str = ""
    description: str = ""
    admin_state_up: bool = True


class RouterUpdated(Event, frozen=True):
    router_id: str
    name: str | UnsetType = UNSET
    description: str | UnsetType = UNSET
    admin_state_up: bool | UnsetType = UNSET
    routes: tuple[Route, ...] | UnsetType = UNSET


class RouterGatewaySet(Event, frozen=True):
    """The router's way out: its gateway port on the external network `network_id`,
    source NAT to the port's address if `enable_snat`. A network_id None: no gateway."""

    router_id: str
    network_id: str | None
    port_id: str | None = None
    enable_snat: bool = True


class RouterInterfaceAdded(Event, frozen=True):
    """The port (created or given with this event) is the router's on `subnet_id`."""

    router_id: str
    port_id: str
    subnet_id: str


class RouterInterfaceRemoved(Event, frozen=True):
    router_id: str
    port_id: str
    subnet_id: str


class RouterDeleted(Event, frozen=True):
    router_id: str
    project_id: str
