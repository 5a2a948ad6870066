"""The network reactor on libvirt's test driver: a host network per Kumo network its
servers use, with a fixed DHCP lease per port, domains with an interface per port (on
the port's tap device), the host network gone with the last server, rebuilt from the log
at start; floating IP NAT (while the floating IP's router is up) and security group rules
on this host's nftables rebuilt and removed."""

import asyncio
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from typing import Any

import libvirt
import pytest

from events.postgres import PostgresEventStore
from events.store import StreamAppend
from service.compute.libvirt import LibvirtDriver
from service.network import events as ev
from service.network.firewall import Firewall
from service.network.host import NetworkHost
from service.network.interfaces import host_network, tap_device
from service.network.nftables import Nftables
from tests.integration.compute.conftest import Nova
from tests.integration.compute.test_servers import admin_nova, cloud, image_id, member, wait_for
from tests.integration.network.conftest import Neutron, router_between
from tests.integration.network.test_nftables import listed

__all__ = ["admin_nova", "cloud", "image_id", "member"]


@pytest.fixture
def host() -> Iterator[Any]:
    """A connection of the test's own to the in-process test driver the app uses."""
    conn = libvirt.open("test:///default")
    yield conn
    conn.close()


async def until(check: Callable[[], bool]) -> None:
    async with asyncio.timeout(10):
        while not check():
            await asyncio.sleep(0.05)


def leases(conn: Any, name: str) -> set[tuple[str, str]] | None:
    """The fixed leases of a running host network, None if it is not there."""
    if name not in [n.name() for n in conn.listAllNetworks(0)]:
        return None
    root = ET.fromstring(conn.networkLookupByName(name).XMLDesc(0))
    return {(h.get("mac", ""), h.get("ip", "")) for h in root.iterfind("ip/dhcp/host")}


async def _boot(nova: Nova, image_id: str, name: str) -> dict[str, Any]:
    reply = await nova.post(
        "servers", {"server": {"name": name, "imageRef": image_id, "flavorRef": "1"}}
    )
    assert reply.status == 202, reply.body
    return await wait_for(nova, reply.body["server"]["id"], "ACTIVE")


async def test_servers_get_a_host_network_with_their_leases(
    member: Nova, image_id: str, host: Any
) -> None:
    neutron = Neutron(member.client, member.token)
    first = await _boot(member, image_id, "a")
    [network] = (await neutron.get("networks")).body["networks"]
    name = host_network(network["id"])
    [port_a] = (await neutron.get(f"ports?device_id={first['id']}")).body["ports"]
    lease_a = (port_a["mac_address"], port_a["fixed_ips"][0]["ip_address"])
    await until(lambda: leases(host, name) == {lease_a})
    [subnet] = (await neutron.get("subnets")).body["subnets"]
    ip = ET.fromstring(host.networkLookupByName(name).XMLDesc(0)).find("ip")
    assert ip is not None and ip.get("address") == subnet["gateway_ip"]
    domain = ET.fromstring(host.lookupByUUIDString(first["id"]).XMLDesc(0))
    [nic] = domain.iterfind("devices/interface")
    assert nic.get("type") == "network"
    assert nic.find("source").get("network") == name
    assert nic.find("mac").get("address") == port_a["mac_address"]
    assert nic.find("target").get("dev") == tap_device(port_a["id"])
    second = await _boot(member, image_id, "b")
    [port_b] = (await neutron.get(f"ports?device_id={second['id']}")).body["ports"]
    lease_b = (port_b["mac_address"], port_b["fixed_ips"][0]["ip_address"])
    await until(lambda: leases(host, name) == {lease_a, lease_b})
    assert (await member.delete(f"servers/{first['id']}")).status == 204
    await until(lambda: leases(host, name) == {lease_b})
    assert (await member.delete(f"servers/{second['id']}")).status == 204
    await wait_for(member, second["id"], "DELETED")
    await until(lambda: leases(host, name) is None)


async def test_reconciliation_rebuilds_the_host_networks(
    member: Nova, image_id: str, host: Any, store: PostgresEventStore
) -> None:
    neutron = Neutron(member.client, member.token)
    server = await _boot(member, image_id, "a")
    [network] = (await neutron.get("networks")).body["networks"]
    name = host_network(network["id"])
    await until(lambda: leases(host, name) is not None)
    async with LibvirtDriver("test:///default") as driver:
        await driver.remove_network(name)
        assert leases(host, name) is None
        await NetworkHost(store, driver, "h1").reconcile()
        [port] = (await neutron.get(f"ports?device_id={server['id']}")).body["ports"]
        assert leases(host, name) == {(port["mac_address"], port["fixed_ips"][0]["ip_address"])}
        await NetworkHost(store, driver, "elsewhere").reconcile()
        assert leases(host, name) is None


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("nft") is None, reason="root and nft")
async def test_reconciliation_rebuilds_and_removes_floating_ip_nat(
    member: Nova, admin_nova: Nova, image_id: str, store: PostgresEventStore
) -> None:
    neutron, admin = (
        Neutron(member.client, member.token),
        Neutron(admin_nova.client, admin_nova.token),
    )
    server = await _boot(member, image_id, "a")
    [port] = (await neutron.get(f"ports?device_id={server['id']}")).body["ports"]
    public = await admin.create("network", name="public", **{"router:external": True})
    await admin.create(
        "subnet", network_id=public["id"], cidr="198.51.100.0/28", ip_version=4, enable_dhcp=False
    )
    router = await router_between(neutron, public["id"], port["fixed_ips"][0]["subnet_id"])
    fip = await neutron.create("floatingip", floating_network_id=public["id"], port_id=port["id"])
    nat = Nftables()
    try:
        async with LibvirtDriver("test:///default") as driver:
            await NetworkHost(store, driver, "elsewhere", nat).reconcile()
            assert fip["id"] not in await nat.floating_ip_ids()
            await NetworkHost(store, driver, "h1", nat).reconcile()
            assert fip["id"] in await nat.floating_ip_ids()
            table = await asyncio.to_thread(listed, fip["id"])
            fixed = port["fixed_ips"][0]["ip_address"]
            assert f"ip daddr {fip['floating_ip_address']} dnat to {fixed}" in table
            # The NAT is the router's: none while the router is down.
            for up in (False, True):
                state = {"router": {"admin_state_up": up}}
                assert (await neutron.put(f"routers/{router['id']}", state)).status == 200
                await NetworkHost(store, driver, "h1", nat).reconcile()
                assert (fip["id"] in await nat.floating_ip_ids()) is up
            # One an older Kumo associated names no router: it keeps its NAT.
            down = {"router": {"admin_state_up": False}}
            assert (await neutron.put(f"routers/{router['id']}", down)).status == 200
            old = ev.FloatingIpAssociated(
                floating_ip_id=fip["id"], port_id=port["id"], fixed_ip_address=fixed
            )
            await store.append_streams([StreamAppend(f"floatingip-{fip['id']}", [old])])
            await NetworkHost(store, driver, "h1", nat).reconcile()
            assert fip["id"] in await nat.floating_ip_ids()
            unlinked = await neutron.put(
                f"floatingips/{fip['id']}", {"floatingip": {"port_id": None}}
            )
            assert unlinked.status == 200
            await NetworkHost(store, driver, "h1", nat).reconcile()
            assert fip["id"] not in await nat.floating_ip_ids()
    finally:
        await nat.remove(fip["id"])


def _table(family: str, name: str) -> str:
    done = subprocess.run(["nft", "list", "table", family, name], capture_output=True, text=True)
    return done.stdout


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("nft") is None, reason="root and nft")
async def test_security_group_rules_are_realised_rebuilt_and_removed(
    member: Nova, image_id: str, store: PostgresEventStore
) -> None:
    neutron = Neutron(member.client, member.token)
    server = await _boot(member, image_id, "a")
    [port] = (await neutron.get(f"ports?device_id={server['id']}")).body["ports"]
    [default] = (await neutron.get("security-groups?name=default")).body["security_groups"]
    address = port["fixed_ips"][0]["ip_address"]
    name = f"kumo-sg-test-host{os.getpid()}"
    firewall = Firewall(name)
    ingress = f"chain ingress-{port['id']} "
    try:
        async with LibvirtDriver("test:///default") as driver:
            await NetworkHost(store, driver, "elsewhere", firewall=firewall).reconcile()
            assert await asyncio.to_thread(_table, "ip", name) == ""
            network = NetworkHost(store, driver, "h1", firewall=firewall)
            await network.ready(server["id"])
            table = await asyncio.to_thread(_table, "ip", name)
            assert ingress in table
            assert f"ip saddr @group-{default['id']} accept" in table  # the default group's
            assert f"elements = {{ {address} }}" in table
            bridged = await asyncio.to_thread(_table, "bridge", name)
            assert f'"{tap_device(port["id"])}" : goto from-{port["id"]}' in bridged
            await neutron.create(
                "security_group_rule",
                security_group_id=default["id"],
                direction="ingress",
                protocol="tcp",
                port_range_min=22,
                port_range_max=22,
                remote_ip_prefix="192.0.2.0/24",
            )
            await network.realise_filters()
            ssh = "ip saddr 192.0.2.0/24 tcp dport 22 accept"
            assert ssh in await asyncio.to_thread(_table, "ip", name)
            # A restart rebuilds the tables from the read models.
            await firewall.remove()
            network = NetworkHost(store, driver, "h1", firewall=Firewall(name))
            await network.reconcile()
            assert ssh in await asyncio.to_thread(_table, "ip", name)
            # The guest gone, its rules go (here its cloud's tables, with the last port).
            await network.forget(server["id"])
            assert await asyncio.to_thread(_table, "ip", name) == ""
            assert await asyncio.to_thread(_table, "bridge", name) == ""
            assert (await member.delete(f"servers/{server['id']}")).status == 204
            await wait_for(member, server["id"], "DELETED")
            await network.realise_filters()
            assert await asyncio.to_thread(_table, "ip", name) == ""
    finally:
        await firewall.remove()
