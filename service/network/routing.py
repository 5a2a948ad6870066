"""Routers in force on a host: one nftables table of a cloud's own, `ip kumo-rt-<tag>`
(the tag of its security group tables, service/network/firewall.py), rewritten whole in
one `nft -f` transaction when what it should hold changes.

The host is every Kumo subnet's gateway (the bridge of a host network holds the first
subnet's gateway address), and its host networks are libvirt `open` networks, which get
no firewall rules from libvirt: this table decides what the host forwards to and from
the cloud's bridges. Frames within one bridge (seen by the ip family through
br_netfilter, in and out on the bridge) pass; so do packets between two bridges whose
subnets one router joins, packets from a router's subnets out of the host (to any
interface that is not a Kumo bridge) when the router has a gateway, their replies, and
floating IP traffic (destination NAT, service/network/nftables.py). Everything else to
or from the cloud's bridges is dropped: networks no router joins stay apart, as libvirt's
isolated networks kept them. A router with `enable_snat` sends its subnets out with its
gateway's address (after a floating IP's own source NAT, which goes first).
"""

import ipaddress

import msgspec

from service.network.interfaces import BRIDGE_PREFIX
from service.network.nftables import nft

TABLE_PREFIX = "kumo-rt-"


class RouterPath(msgspec.Struct, frozen=True, kw_only=True):
    """What one router opens on a host: routing between its subnets' `bridges`, and if
    `outward` (it has a gateway) out of the host, sources in `snat` (CIDR, gateway
    address) leaving with the gateway's address."""

    router_id: str
    bridges: tuple[str, ...]
    outward: bool = False
    snat: tuple[tuple[str, str], ...] = ()


class HostRoutes(msgspec.Struct, frozen=True, kw_only=True):
    """The `bridges` of the cloud's host networks on a host, and its routers' paths."""

    bridges: tuple[str, ...] = ()
    routers: tuple[RouterPath, ...] = ()


def table_name(tag: str) -> str:
    """The name of a cloud's routing table on a host."""
    return f"{TABLE_PREFIX}{tag}"


def _elements(items: list[str]) -> str:
    return "    elements = { " + ", ".join(items) + " }\n" if items else ""


def _bridge(name: str) -> str:
    if not name.startswith(BRIDGE_PREFIX) or not name.replace("-", "").isalnum():
        raise ValueError(f"not a Kumo bridge: {name!r}")
    return f'"{name}"'


def _snat(cidr: str, gateway: str) -> str:
    """The rule sending a subnet out with its router's gateway address (ValueError for
    what is not a CIDR or an address: nothing unchecked reaches nft)."""
    source, address = ipaddress.IPv4Network(cidr), ipaddress.IPv4Address(gateway)
    return f'    ip saddr {source} oifname != "{BRIDGE_PREFIX}*" snat to {address}\n'


def ruleset(name: str, routes: HostRoutes) -> str:
    """The `nft -f` script that makes the table exactly what `routes` asks for."""
    bridges = sorted({_bridge(b) for b in routes.bridges})
    joined = {f"{b} . {b}" for b in bridges}
    outward: set[str] = set()
    snat: list[str] = []
    for router in routes.routers:
        own = sorted({_bridge(b) for b in router.bridges})
        joined |= {f"{a} . {b}" for a in own for b in own}
        if router.outward:
            outward |= set(own)
            snat += [_snat(cidr, gateway) for cidr, gateway in router.snat]
    table = f"ip {name}"
    return (
        f"add table {table}\n"
        f"delete table {table}\n"
        f"table {table} {{\n"
        "  set bridges {\n    type ifname\n" + _elements(bridges) + "  }\n"
        "  set joined {\n    type ifname . ifname\n" + _elements(sorted(joined)) + "  }\n"
        "  set outward {\n    type ifname\n" + _elements(sorted(outward)) + "  }\n"
        "  chain forward {\n"
        "    type filter hook forward priority filter; policy accept;\n"
        "    ct status dnat accept\n"
        "    iifname . oifname @joined accept\n"
        f'    iifname @outward oifname != "{BRIDGE_PREFIX}*" accept\n'
        "    oifname @outward ct state established,related accept\n"
        "    iifname @bridges drop\n"
        "    oifname @bridges drop\n"
        "  }\n"
        "  chain postrouting {\n"
        "    type nat hook postrouting priority srcnat + 10; policy accept;\n"
        + "".join(sorted(snat))
        + "  }\n"
        "}\n"
    )


def removal(name: str) -> str:
    """The transaction that deletes the table (a missing one too)."""
    return f"add table ip {name}\ndelete table ip {name}\n"


class Routing:
    """A cloud's routing table on this host (`nft`, as root)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._written: HostRoutes | None = None
        """What this process last wrote; None: unknown (write it next time)."""

    def guards(self, bridge: str) -> bool:
        """Whether the table this process wrote guards the bridge."""
        return self._written is not None and bridge in self._written.bridges

    async def apply(self, routes: HostRoutes) -> None:
        """Make the table hold `routes`, in one transaction, unless it already does; the
        table goes when the host has no bridge of the cloud. NftError if nft refuses (the next call
        writes it again)."""
        if routes == self._written:
            return
        self._written = None
        script = ruleset(self.name, routes) if routes.bridges else removal(self.name)
        await nft(script, "-f", "-")
        self._written = routes

    async def remove(self) -> None:
        """Delete the table; a missing one succeeds."""
        self._written = None
        await nft(removal(self.name), "-f", "-")
