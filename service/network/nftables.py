"""Floating IPs as host NAT rules, through nftables (`nft`, as root).

Each associated floating IP is one nftables table of its own, `ip kumo-fip-<id>`:
destination NAT from the floating address to the fixed address, for packets arriving
(prerouting) and for the host's own (output), and source NAT of what the fixed address
sends out of the host (to an interface that is no Kumo bridge: what a router carries to
another of its subnets keeps its address) to the floating address. The host's own
packets to the floating address leave with the bridge's address (masquerade), which the
guest reaches on its link whatever its routes. One table per floating IP keeps the
clouds that share a host apart, and makes each change one atomic `nft -f` transaction
(the table is flushed and refilled, or deleted).
"""

import asyncio
import ipaddress
import shutil

import msgspec

from service.network.interfaces import BRIDGE_PREFIX

TABLE_PREFIX = "kumo-fip-"


class NftError(Exception):
    """`nft` is missing or refused a change."""


class FloatingNat(msgspec.Struct, frozen=True, kw_only=True):
    """What one associated floating IP needs on the host: `floating` reaches `fixed`,
    which lives behind the bridge `bridge`."""

    floating_ip_id: str
    floating: str
    fixed: str
    bridge: str

    @property
    def table(self) -> str:
        return table_name(self.floating_ip_id)


def table_name(floating_ip_id: str) -> str:
    """The nftables table of a floating IP."""
    return f"{TABLE_PREFIX}{floating_ip_id}"


def ruleset(nat: FloatingNat) -> str:
    """The `nft -f` script that makes the floating IP's table exactly `nat`."""
    for address in (nat.floating, nat.fixed):
        ipaddress.IPv4Address(address)  # ValueError: nothing unchecked reaches nft
    table = f"ip {nat.table}"
    return (
        f"add table {table}\n"
        f"flush table {table}\n"
        f"table {table} {{\n"
        "  chain prerouting {\n"
        "    type nat hook prerouting priority dstnat; policy accept;\n"
        f"    ip daddr {nat.floating} dnat to {nat.fixed}\n"
        "  }\n"
        "  chain output {\n"
        "    type nat hook output priority -100; policy accept;\n"
        f"    ip daddr {nat.floating} dnat to {nat.fixed}\n"
        "  }\n"
        "  chain postrouting {\n"
        "    type nat hook postrouting priority srcnat; policy accept;\n"
        f'    ip saddr {nat.fixed} oifname != "{BRIDGE_PREFIX}*" snat to {nat.floating}\n'
        f'    ip daddr {nat.fixed} oifname "{nat.bridge}" ct status dnat fib saddr type local'
        " masquerade\n"
        "  }\n"
        "}\n"
    )


class Nftables:
    """The host's floating IP tables."""

    async def ensure(self, nat: FloatingNat) -> None:
        """Make the floating IP's table `nat` (atomically). NftError if nft refuses."""
        await nft(ruleset(nat), "-f", "-")

    async def remove(self, floating_ip_id: str) -> None:
        """Delete the floating IP's table; a missing one succeeds."""
        table = f"ip {table_name(floating_ip_id)}"
        await nft(f"add table {table}\ndelete table {table}\n", "-f", "-")

    async def floating_ip_ids(self) -> list[str]:
        """The floating IPs whose tables the host holds."""
        out = await nft("", "list", "tables", "ip")
        names = (line.split()[-1] for line in out.splitlines() if line.startswith("table "))
        return [n.removeprefix(TABLE_PREFIX) for n in names if n.startswith(TABLE_PREFIX)]


async def nft(script: str, *argv: str) -> str:
    """Run nft with `script` on stdin (none if empty: nft may exit before a write to its
    stdin, which uvloop then refuses); its stdout, or NftError."""
    nft = shutil.which("nft")
    if nft is None:
        raise NftError("nft is not installed (apt-get install nftables)")
    process = await asyncio.create_subprocess_exec(
        nft,
        *argv,
        stdin=asyncio.subprocess.PIPE if script else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate(script.encode() if script else None)
    if process.returncode != 0:
        raise NftError(f"nft {' '.join(argv)}: {err.decode().strip()}")
    return out.decode()
