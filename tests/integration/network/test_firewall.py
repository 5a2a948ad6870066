"""Security group rules on real nftables (root, nft, `ip` and busybox needed).

Traffic: two "guests" are network namespaces whose veth ends (named as Kumo names taps)
sit on a bridge in a third namespace, the "host", which holds the tables: what the rules
allow passes, with its replies, what they do not is dropped, and a guest cannot send
from another guest's address. The `Firewall` itself runs on this host's nftables, with
tables named for the test: written whole, then as differences, and deleted with the last
port.
"""

import asyncio
import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from service.network.firewall import Firewall, tables, update, whole
from service.network.nftables import NftError
from service.network.packet_filters import HostFilters, PacketFilter, PacketRule

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not all(shutil.which(t) for t in ("nft", "ip", "busybox")),
    reason="needs root, nft, ip and busybox",
)
BRIDGE = "kb-fwtest"
PORTS = {
    "a": ("aaaaaaaa-0000-4000-8000-000000000001", "10.231.0.5"),
    "b": ("bbbbbbbb-0000-4000-8000-000000000002", "10.231.0.6"),
}
ICMP_IN = PacketRule(direction="ingress", protocol=1)
ALL_OUT = PacketRule(direction="egress")


def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=check)


class Guests:
    """The namespaces: `host` with the bridge, and a guest per entry of PORTS."""

    def __init__(self, prefix: str) -> None:
        self.host = f"{prefix}h"
        self.names = {guest: f"{prefix}{guest}" for guest in PORTS}
        self.macs: dict[str, str] = {}

    def make(self) -> None:
        run("ip", "netns", "add", self.host)
        inside = ("ip", "netns", "exec", self.host)
        run(*inside, "ip", "link", "add", BRIDGE, "type", "bridge")
        run(*inside, "ip", "addr", "add", "10.231.0.1/24", "dev", BRIDGE)
        run(*inside, "ip", "link", "set", BRIDGE, "up")
        for guest, (port_id, address) in PORTS.items():
            name = self.names[guest]
            run("ip", "netns", "add", name)
            tap = f"tap{port_id[:11]}"
            run("ip", "link", "add", tap, "netns", self.host, "type", "veth", "peer", "eth0",
                "netns", name)  # fmt: skip
            run(*inside, "ip", "link", "set", tap, "master", BRIDGE, "up")
            run("ip", "netns", "exec", name, "ip", "addr", "add", f"{address}/24", "dev", "eth0")
            run("ip", "netns", "exec", name, "ip", "link", "set", "eth0", "up")
            self.macs[guest] = run(
                "ip", "netns", "exec", name, "cat", "/sys/class/net/eth0/address"
            ).stdout.strip()

    def remove(self) -> None:
        for name in (self.host, *self.names.values()):
            run("ip", "netns", "delete", name, check=False)

    def filters(
        self, rules: dict[str, tuple[PacketRule, ...]], **groups: tuple[str, ...]
    ) -> HostFilters:
        return HostFilters(
            filters=tuple(
                PacketFilter(
                    port_id=port_id,
                    device=f"tap{port_id[:11]}",
                    mac=self.macs[guest],
                    bridge=BRIDGE,
                    addresses=(address,),
                    rules=rules.get(guest, ()),
                )
                for guest, (port_id, address) in PORTS.items()
            ),
            groups=dict(groups),
        )

    def nft(self, script: str) -> None:
        subprocess.run(
            ["ip", "netns", "exec", self.host, "nft", "-f", "-"],
            input=script,
            text=True,
            check=True,
        )

    def pings(self, guest: str, address: str, source: str | None = None) -> bool:
        """Whether `guest` gets an answer to one ping (from `source`, an extra address)."""
        argv = ["ip", "netns", "exec", self.names[guest], "busybox", "ping", "-c", "1", "-W", "1"]
        if source is not None:
            argv += ["-I", source]
        return run(*argv, address, check=False).returncode == 0

    def host_pings(self, address: str) -> bool:
        argv = ("ip", "netns", "exec", self.host, "busybox", "ping", "-c", "1", "-W", "1")
        return run(*argv, address, check=False).returncode == 0


@pytest.fixture
def guests() -> Iterator[Guests]:
    made = Guests(f"kfw{os.getpid() % 100000}")
    made.remove()
    try:
        made.make()
        yield made
    finally:
        made.remove()


def test_rules_decide_what_reaches_a_guest_and_replies_pass(guests: Guests) -> None:
    a, b = PORTS["a"][1], PORTS["b"][1]
    closed = tables(guests.filters({"a": (ALL_OUT,), "b": (ALL_OUT,)}))
    guests.nft(whole("kumo-sg-test", closed))
    assert not guests.pings("a", b)  # b allows no ingress
    assert not guests.host_pings(b)
    assert guests.pings("b", "10.231.0.1")  # egress allowed, the reply is established
    opened = tables(guests.filters({"a": (ALL_OUT,), "b": (ALL_OUT, ICMP_IN)}))
    guests.nft(update("kumo-sg-test", closed, opened))
    assert guests.pings("a", b) and guests.host_pings(b)
    assert not guests.pings("b", a)  # a still allows no ingress
    guests.nft(update("kumo-sg-test", opened, closed))
    assert not guests.pings("a", b)


def test_a_remote_group_admits_its_members_only(guests: Guests) -> None:
    b = PORTS["b"][1]
    from_group = PacketRule(direction="ingress", protocol=1, remote_group="web")
    rules = {"a": (ALL_OUT,), "b": (ALL_OUT, from_group)}
    empty = tables(guests.filters(rules, web=()))
    guests.nft(whole("kumo-sg-test", empty))
    assert not guests.pings("a", b)
    member = tables(guests.filters(rules, web=(PORTS["a"][1],)))
    script = update("kumo-sg-test", empty, member)
    assert script == "add element ip kumo-sg-test group-web { 10.231.0.5 }\n"
    guests.nft(script)
    assert guests.pings("a", b)


def test_a_guest_cannot_send_from_another_address(guests: Guests) -> None:
    a = PORTS["a"][1]
    spoofed = "10.231.0.66"
    run(
        "ip",
        "netns",
        "exec",
        guests.names["b"],
        "ip",
        "addr",
        "add",
        f"{spoofed}/24",
        "dev",
        "eth0",
    )
    guests.nft(whole("kumo-sg-test", tables(guests.filters({"a": (ICMP_IN,), "b": (ALL_OUT,)}))))
    assert guests.pings("b", a)
    assert not guests.pings("b", a, source=spoofed)
    assert not guests.pings("b", "10.231.0.1", source=spoofed)
    assert not guests.pings("a", spoofed)  # nor answer ARP for it


def test_without_port_security_a_guest_is_not_filtered(guests: Guests) -> None:
    filters = guests.filters({})
    loose = HostFilters(
        filters=tuple(
            f if f.port_id != PORTS["b"][0] else PacketFilter(**{**_fields(f), "enforcing": False})
            for f in filters.filters
        )
    )
    guests.nft(whole("kumo-sg-test", tables(loose)))
    assert guests.host_pings(PORTS["b"][1])  # b has no rules, and none apply
    assert not guests.pings("a", PORTS["b"][1])  # a's do: it may send nothing


def _fields(spec: PacketFilter) -> dict[str, object]:
    return {name: getattr(spec, name) for name in spec.__struct_fields__}


def listed(family: str, table: str) -> str:
    return run("nft", "list", "table", family, table, check=False).stdout


async def test_the_firewall_writes_whole_then_differences_then_deletes_its_tables() -> None:
    name = f"kumo-sg-test{os.getpid()}"
    port = PacketFilter(
        port_id=PORTS["a"][0], device="tapaaaaaaaa-00", mac="52:54:00:12:34:56",
        bridge=BRIDGE, addresses=("10.231.0.5",),
    )  # fmt: skip
    ruled = PacketFilter(**{**_fields(port), "rules": (ICMP_IN,)})
    firewall = Firewall(name)
    try:
        await firewall.apply(HostFilters(filters=(port,)))
        assert f"chain from-{port.port_id}" in await asyncio.to_thread(listed, "bridge", name)
        assert f"chain ingress-{port.port_id}" in await asyncio.to_thread(listed, "ip", name)
        await firewall.apply(HostFilters(filters=(ruled,)))
        assert "ip protocol icmp accept" in await asyncio.to_thread(listed, "ip", name)
        # A restarted process writes the tables whole from what it is given.
        restarted = Firewall(name)
        await restarted.apply(HostFilters(filters=(port,)))
        assert "ip protocol icmp accept" not in await asyncio.to_thread(listed, "ip", name)
        # Tables changed behind its back: the difference is refused, the next write is whole.
        run("nft", "delete", "table", "ip", name)
        with pytest.raises(NftError):
            await restarted.apply(HostFilters(filters=(ruled,)))
        await restarted.apply(HostFilters(filters=(ruled,)))
        assert "ip protocol icmp accept" in await asyncio.to_thread(listed, "ip", name)
        await restarted.apply(HostFilters())
        assert await asyncio.to_thread(listed, "ip", name) == ""
        assert await asyncio.to_thread(listed, "bridge", name) == ""
    finally:
        await firewall.remove()
