"""Security groups in force on a host: Kumo's own nftables tables, one `nft -f`
transaction per change.

Each cloud on a host has two tables of one name, `kumo-sg-<tag>` (the tag comes from the
log, so two clouds sharing a host never touch each other's), in two families:

- `bridge`: only this family sees a guest's tap device (a port of the network's bridge)
  and its frames below IP. A chain per port, reached through a verdict map keyed by the
  tap's name (`tap<port id>`, set in the domain XML, so the rules exist before the guest
  starts), does the stateless part: the guest sends only from its MAC, from its IPv4
  addresses (and DHCP discovery, 0.0.0.0 to 255.255.255.255), ARP only about itself,
  nothing but IPv4 and ARP; it receives ARP, IPv4 to its addresses and DHCP broadcasts.
  IPv6 is dropped both ways (Kumo's subnets are IPv4).
- `ip`: connection tracking in a bridge table needs nf_conntrack_bridge, which this
  kernel lacks (a `ct` match there fails with "Protocol error"), and the netdev family
  has none at all; so the security group rules, stateful as Neutron's (replies and
  related traffic pass, all else is dropped unless a rule allows it), sit in the `ip`
  family, which sees bridged IPv4 through br_netfilter (bridge-nf-call-iptables, which
  libvirt's nwfilter needed too). There the tap is gone (the device is the bridge), but
  the bridge table has made a port's MAC (sending) and addresses (receiving) its own on
  its bridge: a port's egress chain is keyed by bridge and source MAC in prerouting
  (after conntrack, before DNAT: a rule sees what the guest addressed), its ingress
  chain by bridge and destination address in postrouting (after DNAT, so traffic through
  a floating IP and from the host itself is filtered as well). Connection tracking is
  the host's one zone for every bridge, as under libvirt's nwfilter: two networks with
  overlapping addresses share connection state (zones per network would cut the floating
  IPs' NAT, which the host does in zone 0, off from their replies).

A remote group is a named set of its members' addresses. A change writes only the
difference from what this process wrote last: changed chains flushed and refilled, map
elements and set members added or deleted. The first change of a process writes the
tables whole (the reconciliation after a restart); when no port is left, both go.
"""

import asyncio
import ipaddress
import re
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

import msgspec

from service.network.nftables import NftError, nft
from service.network.packet_filters import HostFilters, PacketFilter, PacketRule

TABLE_PREFIX = "kumo-sg-"
ICMP = 1
PORTED = {6, 17, 33, 132, 136}
"""IP protocols whose rules name destination ports: TCP, UDP, DCCP, SCTP, UDP-Lite."""
BRIDGE_NF = Path("/proc/sys/net/bridge/bridge-nf-call-iptables")

_NAME = re.compile(r"^[0-9A-Za-z][0-9A-Za-z-]*$")
_MAC = re.compile(r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$")


class Table(msgspec.Struct, frozen=True, kw_only=True):
    """The part of one table that follows the ports: each chain's rules, each map's
    elements (key, verdict), each set's elements. Base chains and the maps themselves are
    fixed (see `BASE`)."""

    chains: dict[str, tuple[str, ...]] = {}
    maps: dict[str, frozenset[tuple[str, str]]] = {}
    sets: dict[str, frozenset[str]] = {}


BASE = {
    "bridge": (
        "map from_guest { type ifname : verdict; }\n"
        "map to_guest { type ifname : verdict; }\n"
        "chain prerouting { type filter hook prerouting priority filter; policy accept;"
        " iifname vmap @from_guest; }\n"
        "chain postrouting { type filter hook postrouting priority filter; policy accept;"
        " oifname vmap @to_guest; }\n"
    ),
    # mangle (-150): after conntrack (-200), before destination NAT (-100).
    "ip": (
        "map egress { type ifname . ether_addr : verdict; }\n"
        "map ingress { type ifname . ipv4_addr : verdict; }\n"
        "chain prerouting { type filter hook prerouting priority mangle; policy accept;"
        " iifname . ether saddr vmap @egress; }\n"
        "chain postrouting { type filter hook postrouting priority filter; policy accept;"
        " oifname . ip daddr vmap @ingress; }\n"
    ),
}
FAMILIES = tuple(BASE)


def table_name(tag: str) -> str:
    """The name of a cloud's tables on a host."""
    return f"{TABLE_PREFIX}{tag}"


def _checked(spec: PacketFilter) -> PacketFilter:
    """`spec` if every name and address in it is what it should be (nothing unchecked
    reaches nft); ValueError otherwise."""
    names = (spec.port_id, spec.device, spec.bridge, *(r.remote_group or "x" for r in spec.rules))
    if not all(_NAME.match(name) for name in names) or not _MAC.match(spec.mac):
        raise ValueError(f"port {spec.port_id!r}: a name or MAC nft cannot take")
    for address in spec.addresses:
        if str(ipaddress.IPv4Address(address)) != address:
            raise ValueError(f"port {spec.port_id}: address {address!r}")
    return spec


def _set(items: Iterable[str]) -> str:
    return "{ " + ", ".join(items) + " }"


def _from_guest(spec: PacketFilter) -> tuple[str, ...]:
    """What a guest may send, at layer 2."""
    senders = _set(["0.0.0.0", *spec.addresses])
    rules = [f"ether saddr != {spec.mac} drop", f"arp saddr ether != {spec.mac} drop"]
    rules.append(f"arp saddr ip {senders} accept")
    if spec.addresses:
        rules.append(f"ip saddr {_set(spec.addresses)} accept")
    rules += ["ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 accept", "drop"]
    return tuple(rules)


def _to_guest(spec: PacketFilter) -> tuple[str, ...]:
    """What a guest may receive, at layer 2."""
    rules = ["ether type arp accept"]
    if spec.addresses:
        rules.append(f"ip daddr {_set(spec.addresses)} accept")
    rules += ["ip daddr 255.255.255.255 udp sport 67 udp dport 68 accept", "drop"]
    return tuple(rules)


def rule_text(rule: PacketRule) -> str:
    """The nft rule accepting what `rule` allows (its direction decides the side)."""
    side = "saddr" if rule.direction == "ingress" else "daddr"
    parts = []
    if rule.remote_ip_prefix is not None:
        parts.append(f"ip {side} {rule.remote_ip_prefix}")
    if rule.remote_group is not None:
        parts.append(f"ip {side} @{set_name(rule.remote_group)}")
    if rule.protocol is not None:
        parts.append(f"ip protocol {rule.protocol}")
        if rule.protocol == ICMP and rule.port_min is not None:
            parts.append(f"icmp type {rule.port_min}")
            if rule.port_max is not None:
                parts.append(f"icmp code {rule.port_max}")
        elif rule.protocol in PORTED and rule.port_min is not None:
            high = rule.port_max if rule.port_max is not None else rule.port_min
            parts.append(
                f"th dport {rule.port_min}" + (f"-{high}" if high != rule.port_min else "")
            )
    return " ".join([*parts, "accept"])


def _stateful(spec: PacketFilter, direction: str) -> tuple[str, ...]:
    """A port's security group chain for one direction: replies pass, DHCP as a client,
    then what its rules allow; all else is dropped."""
    rules = []
    if direction == "egress":
        rules.append("udp sport 67 udp dport 68 drop")  # a guest never answers DHCP
    rules += ["ct state established,related accept", "ct state invalid drop"]
    rules.append(
        "udp sport 68 udp dport 67 accept"
        if direction == "egress"
        else "udp sport 67 udp dport 68 accept"
    )
    rules += sorted({rule_text(r) for r in spec.rules if r.direction == direction})
    return (*rules, "drop")


def set_name(group_id: str) -> str:
    return f"group-{group_id}"


def tables(host: HostFilters) -> dict[str, Table]:
    """What the host's tables should hold, by family."""
    filtered = [_checked(f) for f in host.filters if f.enforcing]
    bridge = Table(
        chains={
            **{f"from-{f.port_id}": _from_guest(f) for f in filtered},
            **{f"to-{f.port_id}": _to_guest(f) for f in filtered},
        },
        maps={
            "from_guest": frozenset((f'"{f.device}"', f"goto from-{f.port_id}") for f in filtered),
            "to_guest": frozenset((f'"{f.device}"', f"goto to-{f.port_id}") for f in filtered),
        },
    )
    used = {r.remote_group for f in filtered for r in f.rules if r.remote_group is not None}
    ip = Table(
        chains={
            **{f"egress-{f.port_id}": _stateful(f, "egress") for f in filtered},
            **{f"ingress-{f.port_id}": _stateful(f, "ingress") for f in filtered},
        },
        maps={
            "egress": frozenset(
                (f'"{f.bridge}" . {f.mac}', f"goto egress-{f.port_id}") for f in filtered
            ),
            "ingress": frozenset(
                (f'"{f.bridge}" . {address}', f"goto ingress-{f.port_id}")
                for f in filtered
                for address in f.addresses
            ),
        },
        sets={
            set_name(group): frozenset(
                str(ipaddress.IPv4Address(a)) for a in host.groups.get(group, ())
            )
            for group in sorted(used)
        },
    )
    return {"bridge": bridge, "ip": ip}


def changes(family: str, name: str, old: Table, new: Table) -> list[str]:
    """The nft commands that turn table `old` into `new`, in an order nft accepts in one
    transaction: what a rule or element refers to exists before it and goes after it."""
    table = f"{family} {name}"
    lines = [
        f"add set {table} {s} {{ type ipv4_addr; }}"
        for s in sorted(new.sets.keys() - old.sets.keys())
    ]
    for s, members in sorted(new.sets.items()):
        before = old.sets.get(s, frozenset())
        if before - members:
            lines.append(f"delete element {table} {s} {_set(sorted(before - members))}")
        if members - before:
            lines.append(f"add element {table} {s} {_set(sorted(members - before))}")
    for chain, rules in sorted(new.chains.items()):
        if old.chains.get(chain) == rules:
            continue
        verb = "flush" if chain in old.chains else "add"
        lines.append(f"{verb} chain {table} {chain}")
        lines += [f"add rule {table} {chain} {rule}" for rule in rules]
    for m in sorted(old.maps.keys() | new.maps.keys()):
        was, now = old.maps.get(m, frozenset()), new.maps.get(m, frozenset())
        if was - now:
            keys = sorted(key for key, _ in was - now)
            lines.append(f"delete element {table} {m} {_set(keys)}")
        if now - was:
            pairs = sorted(f"{key} : {verdict}" for key, verdict in now - was)
            lines.append(f"add element {table} {m} {_set(pairs)}")
    lines += [f"delete chain {table} {c}" for c in sorted(old.chains.keys() - new.chains.keys())]
    lines += [f"delete set {table} {s}" for s in sorted(old.sets.keys() - new.sets.keys())]
    return lines


def whole(name: str, new: dict[str, Table]) -> str:
    """The transaction that writes the tables anew, whatever they held."""
    lines = []
    for family in FAMILIES:
        table = f"{family} {name}"
        lines += [f"add table {table}", f"delete table {table}", f"table {table} {{"]
        lines += [BASE[family] + "}"]
        lines += changes(family, name, Table(), new[family])
    return "\n".join(lines) + "\n"


def update(name: str, old: dict[str, Table], new: dict[str, Table]) -> str:
    """The transaction from `old` to `new`; empty when nothing changed."""
    lines = [line for f in FAMILIES for line in changes(f, name, old[f], new[f])]
    return "\n".join(lines) + "\n" if lines else ""


def removal(name: str) -> str:
    """The transaction that deletes the tables (missing ones too)."""
    return "".join(f"add table {f} {name}\ndelete table {f} {name}\n" for f in FAMILIES)


async def see_bridged_ipv4() -> None:
    """Make the ip family see bridged IPv4: br_netfilter loaded (where it is a module)
    and on. NftError if it cannot be."""

    def switch_on() -> None:
        modprobe = shutil.which("modprobe")
        if not BRIDGE_NF.exists() and modprobe is not None:
            subprocess.run([modprobe, "br_netfilter"], capture_output=True, check=False)
        if BRIDGE_NF.read_text().strip() != "1":
            BRIDGE_NF.write_text("1\n")

    try:
        await asyncio.to_thread(switch_on)
    except OSError as error:
        raise NftError(f"bridged traffic would bypass the rules: br_netfilter: {error}") from error


class Firewall:
    """A cloud's security group tables on this host (`nft`, as root)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._written: dict[str, Table] | None = None
        """What this process last wrote; None: unknown or absent (write whole next)."""
        self._absent = False

    async def apply(self, host: HostFilters) -> None:
        """Make the tables hold `host`'s filters, in one transaction of what changed;
        delete them when no port is filtered. NftError if nft refuses (the next call
        writes the tables whole)."""
        new = tables(host)
        if not new["bridge"].chains:
            if not self._absent:
                await self.remove()
            return
        if self._written is None:
            await see_bridged_ipv4()
            script = whole(self.name, new)
        else:
            script = update(self.name, self._written, new)
        if script:
            self._written = None
            await nft(script, "-f", "-")
        self._written, self._absent = new, False

    async def remove(self) -> None:
        """Delete the tables; missing ones succeed."""
        self._written, self._absent = None, False
        await nft(removal(self.name), "-f", "-")
        self._absent = True
