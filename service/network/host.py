"""The network reactor of a compute host (run by its compute worker,
service/compute/worker.py): it realises on the host's hypervisor the Kumo
networks that servers placed here use, one host network each (a bridge with the first
subnet's gateway address and DHCP with a fixed lease per port, MAC to address), and
removes a network from the host when its last server here goes or the network changes
so that it has nothing to realise. Given the host's firewall (service/network/firewall.py),
it keeps the rules of every port of this host's servers what the port's security groups
say (service/network/packet_filters.py): a change is one nftables transaction of what
changed. Given the host's NAT (service/network/nftables.py), it keeps the NAT of
every floating IP associated with a port of this host's servers, while the router it
goes through is up. And given the host's routing table (service/network/routing.py), it
keeps what the cloud's routers route: the table guards the cloud's bridges here, so no
host network starts before its bridge is guarded.

It works from state, not from the events' details: an event names the network it
touched, and the network is made to match the read models as they are now, so a
repeated event, one handled late, or the reconciliation at start (every network of the
log) all come to the same host state. It removes only networks named after this log's
own networks (`kumo-<id>`), only its own firewall and routing tables (named after the
log, see `host_tag`), and only NAT of this log's own floating IPs, never another cloud's on a
shared hypervisor.
"""

import asyncio
import ipaddress
import logging
from collections.abc import Sequence
from typing import Any

from events.postgres import PostgresEventStore
from events.subscription import Subscription
from events.types import Event, RecordedEvent
from service.compute import events as cev
from service.compute.directory import get, select
from service.compute.hypervisor import (
    DhcpHost,
    Hypervisor,
    HypervisorError,
    NetworkSpec,
)
from service.network import events as ev
from service.network.directory import Network, Port, Subnet
from service.network.firewall import Firewall, table_name
from service.network.interfaces import bridge, host_network
from service.network.nftables import FloatingNat, Nftables, NftError
from service.network.packet_filters import host_filters
from service.network.router_paths import USED_HERE, host_routes
from service.network.routing import Routing
from service.network.routing import table_name as routing_table

log = logging.getLogger("kumo.network")

HANDLED = (
    *(
        cls.type_name()
        for cls in vars(ev).values()
        if isinstance(cls, type) and issubclass(cls, Event) and cls is not Event
    ),
    cev.ServerScheduled.type_name(),
    cev.ServerDeleted.type_name(),
    cev.SecurityGroupRuleAdded.type_name(),
    cev.SecurityGroupRuleRemoved.type_name(),
    cev.SecurityGroupDeleted.type_name(),
)
FILTERED = ("port", "server", "secgroup")
"""The categories whose events may change a port's rules."""
NATTED = ("floatingip", "port", "server", "router")
"""The categories whose events may change a floating IP's NAT."""
ROUTED = ("router", "port", "network", "subnet", "server")
"""The categories whose events may change what the routers route."""


async def host_tag(store: PostgresEventStore, host: str) -> str:
    """The tag of this cloud's tables on `host`: from the event that first registered
    the host in this log, which no other cloud shares (nor another host)."""
    first = await store.read_stream(f"host-{host}", limit=1)
    if not first:
        raise LookupError(f"host {host} is not registered")
    return first[0].event_id.hex[:12]


async def firewall_for(store: PostgresEventStore, host: str) -> Firewall:
    """This cloud's firewall on `host`."""
    return Firewall(table_name(await host_tag(store, host)))


async def routing_for(store: PostgresEventStore, host: str) -> Routing:
    """This cloud's routing table on `host`."""
    return Routing(routing_table(await host_tag(store, host)))


class NetworkHost:
    """Realises the Kumo networks of this host's servers on its hypervisor."""

    def __init__(
        self,
        store: PostgresEventStore,
        hypervisor: Hypervisor,
        host: str,
        nat: Nftables | None = None,
        firewall: Firewall | None = None,
        routing: Routing | None = None,
    ) -> None:
        """`nat`, `firewall` and `routing` None: floating IPs get no NAT, ports no rules
        and routers no paths here (a host without real bridges)."""
        self.store = store
        self.hypervisor = hypervisor
        self.host = host
        self.nat = nat
        self.firewall = firewall
        self.routing = routing
        self._nats: dict[str, FloatingNat] = {}
        self._gone: set[str] = set()
        """Servers whose guests this process destroyed while their deletion is recorded."""
        self._realising = asyncio.Lock()

    def subscription(self) -> Subscription:
        return Subscription(
            group=f"network:{self.host}",
            handler=self.handle,
            types=HANDLED,
            categories=("network", "subnet", "port", "floatingip", "router", "server", "secgroup"),
            poll_interval=0.5,
            in_transaction=False,
        )

    async def handle(self, _conn: Any, events: Sequence[RecordedEvent]) -> None:
        touched: dict[str, None] = {}
        for recorded in events:
            for network_id in await self._networks_of(recorded):
                touched[network_id] = None
        if any(recorded.category in ROUTED for recorded in events):
            await self.realise_routes()
        for network_id in touched:
            await self.realise(network_id)
        if any(recorded.category in FILTERED for recorded in events):
            await self.realise_filters()
        if any(recorded.category in NATTED for recorded in events):
            await self.realise_floating_ips()

    async def reconcile(self) -> None:
        """Bring the routers' paths, every network, port's rules and floating IP's NAT of
        the log to the state they should have on this host."""
        await self.realise_routes()
        rows = await self.store.pool.fetch("SELECT id FROM rm_networks")
        for row in rows:
            await self.realise(row["id"])
        await self.realise_filters()
        await self.realise_floating_ips()

    async def realise_filters(self) -> bool:
        """Put in force the rules of every port of this host's servers as their security
        groups say, and only those; whether that worked. A failure is logged, not raised:
        the next event or start tries again."""
        if self.firewall is None:
            return True
        async with self._realising:
            db = self.store.pool
            # A server being deleted keeps its rules until its guest is gone (`forget`).
            servers = await db.fetch(
                "SELECT id FROM rm_servers WHERE host = $1 AND NOT deleted", self.host
            )
            self._gone &= {row["id"] for row in servers}
            ids = [row["id"] for row in servers if row["id"] not in self._gone]
            ports = await select(db, Port, "device_id = ANY($1::text[])", ids)
            try:
                await self.firewall.apply(await host_filters(db, ports))
            except (NftError, ValueError) as error:
                log.warning("security group rules: %s", error, extra={"host": self.host})
                return False
            return True

    async def realise_routes(self) -> None:
        """Make the host's routing table what the cloud's routers say. A failure is
        logged, not raised: the next event or start tries again (and host networks wait)."""
        if self.routing is None:
            return
        try:
            await self.routing.apply(await host_routes(self.store.pool, self.host))
        except (NftError, ValueError) as error:
            log.warning("routers: %s", error, extra={"host": self.host})

    async def ready(self, server_id: str) -> None:
        """Put the rules of a server's ports in force before its guest starts (or plugs a
        port); HypervisorError if they cannot be."""
        if not await self.realise_filters():
            raise HypervisorError(f"the security group rules of server {server_id} failed")

    async def forget(self, server_id: str) -> None:
        """Remove the rules of a server's ports once its guest is gone, before its deletion
        is recorded (a cloud stopped right after keeps none)."""
        self._gone.add(server_id)
        await self.realise_filters()

    async def realise_floating_ips(self) -> None:
        """Give every floating IP associated with a port of this host's servers its NAT
        while the router it goes through is up, and remove the NAT of this log's other
        floating IPs. A failure is logged, not raised: the next event or start tries
        again."""
        if self.nat is None:
            return
        # A floating IP associated before Kumo required a router names none: it keeps the
        # NAT it had, rather than cut off what an upgrade found working.
        rows = await self.store.pool.fetch(
            "SELECT f.id, f.floating_ip_address, f.fixed_ip_address, p.network_id"
            " FROM rm_floating_ips f JOIN rm_ports p ON p.id = f.port_id"
            " JOIN rm_servers s ON s.id = p.device_id"
            " LEFT JOIN rm_routers r ON r.id = f.router_id"
            " WHERE s.host = $1 AND NOT s.deleted AND f.fixed_ip_address IS NOT NULL"
            " AND (f.router_id IS NULL OR r.admin_state_up)",
            self.host,
        )
        wanted = {
            r["id"]: FloatingNat(
                floating_ip_id=r["id"],
                floating=r["floating_ip_address"],
                fixed=r["fixed_ip_address"],
                bridge=bridge(r["network_id"]),
            )
            for r in rows
        }
        try:
            for nat in wanted.values():
                if self._nats.get(nat.floating_ip_id) != nat:
                    await self.nat.ensure(nat)
                    self._nats[nat.floating_ip_id] = nat
            for fip_id in await self.nat.floating_ip_ids():
                if fip_id not in wanted and await self._ours(f"floatingip-{fip_id}"):
                    await self.nat.remove(fip_id)
                    self._nats.pop(fip_id, None)
        except NftError as error:
            log.warning("floating IP NAT: %s", error, extra={"host": self.host})

    async def _ours(self, stream: str) -> bool:
        """Whether this log has the stream (another cloud may share the host)."""
        return bool(await self.store.read_stream(stream, limit=1))

    async def _networks_of(self, recorded: RecordedEvent) -> list[str]:
        """The networks an event may have changed the host state of."""
        event = recorded.event
        if recorded.category == "server":
            server_id = recorded.stream_id.removeprefix("server-")
            rows = await self.store.pool.fetch(
                "SELECT DISTINCT network_id FROM rm_ports WHERE device_id = $1", server_id
            )
            return [r["network_id"] for r in rows]
        network_id = getattr(event, "network_id", None)
        if network_id is None and recorded.category in ("subnet", "port"):
            first = (await self.store.read_stream(recorded.stream_id, 1))[0].event
            network_id = getattr(first, "network_id", None)
        return [] if network_id is None else [network_id]

    async def realise(self, network_id: str) -> None:
        """Make the host network of `network_id` what the read models say it should be
        here now: running with its leases, or gone. A failure is logged, not raised: the
        next event or start tries again."""
        name = host_network(network_id)
        try:
            spec = await self.wanted(network_id)
            if spec is None:
                await self.hypervisor.remove_network(name)
            elif self.routing is not None and not self.routing.guards(spec.bridge):
                log.warning("host network %s waits for the routing table", name)
            else:
                await self.hypervisor.ensure_network(spec)
        except HypervisorError as error:
            log.warning("host network %s: %s", name, error, extra={"host": self.host})

    async def wanted(self, network_id: str) -> NetworkSpec | None:
        """The host network this host should run for the network: None unless a server
        placed here has a port on it."""
        db = self.store.pool
        network = await get(db, Network, network_id)
        used_here = await db.fetchval(
            f"SELECT 1 FROM ({USED_HERE}) AS used WHERE network_id = $2", self.host, network_id
        )
        if network is None or not used_here:
            return None
        spec = NetworkSpec(name=host_network(network_id), bridge=bridge(network_id))
        subnets = await select(db, Subnet, "network_id = $1", network_id)
        subnet = next((s for s in subnets if s.gateway_ip is not None), None)
        if subnet is None:
            return spec
        cidr = ipaddress.IPv4Network(subnet.cidr)
        spec = NetworkSpec(
            name=spec.name, bridge=spec.bridge, address=subnet.gateway_ip, prefix=cidr.prefixlen
        )
        if not subnet.enable_dhcp or not subnet.allocation_pools:
            return spec
        ports = await select(db, Port, "network_id = $1", network_id)
        hosts = sorted(
            {
                DhcpHost(port.mac_address, ip.ip_address)
                for port in ports
                for ip in port.fixed_ips
                if ip.subnet_id == subnet.id
            }
        )
        pool = subnet.allocation_pools[0]  # dnsmasq takes one range; every port has a lease
        return NetworkSpec(
            name=spec.name,
            bridge=spec.bridge,
            address=spec.address,
            prefix=spec.prefix,
            dhcp_range=(pool.start, pool.end),
            hosts=tuple(hosts),
        )
