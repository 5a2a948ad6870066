"""Real traffic through a router between tiny guests on qemu:///system (marked `vm`): two
guests of one project on two networks ping each other only while one router has an
interface on both subnets; their security group still decides what reaches them. The
host keeps no path between the networks afterwards, and no rule naming their bridges
once the guests are gone. A guest reaches a namespace beyond
the host (which routes back to the external network only) once its subnet's router has a
gateway with source NAT, and no longer when an admin turns source NAT off."""

import asyncio
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from service.network.interfaces import bridge
from tests.integration.compute.test_servers import wait_for
from tests.integration.compute.test_vm_through_the_api import cloud, data_dir, guest
from tests.integration.identity.conftest import (
    ADMIN_PASSWORD,
    Api,
    Client,
    password_auth,
    token_for,
)
from tests.integration.network.conftest import Neutron
from tests.integration.network.test_real_traffic import (
    CHANGE_TIMEOUT,
    boot,
    bound,
    network,
    project,
    tiny_image,
    until_pings,
)
from tools.build_test_guest import TinyGuest

__all__ = ["cloud", "data_dir", "guest"]
pytestmark = pytest.mark.vm
A, B = "10.33.0.11", "10.34.0.11"
GUEST, OUTSIDE, UPLINK = "10.35.0.11", "100.77.0.2", "100.77.0.1"
PUBLIC = "198.51.100.0/28"


def ruleset() -> str:
    return subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True).stdout


def named(bridges: list[str]) -> bool:
    """Whether the host still has one of the bridges, or a table naming one."""
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    return any(b in links or b in ruleset() for b in bridges)


async def until_forgotten(bridges: list[str]) -> None:
    """Wait until the host has neither the bridges nor rules naming them (guests gone)."""
    async with asyncio.timeout(CHANGE_TIMEOUT):
        while await asyncio.to_thread(named, bridges):
            await asyncio.sleep(0.2)


async def test_a_router_joins_two_networks_with_real_traffic(
    cloud: Client, guest: TinyGuest
) -> None:
    admin_token = await token_for(cloud, password_auth("admin", ADMIN_PASSWORD, project="admin"))
    image_id = await tiny_image(cloud, admin_token, guest)
    nova, neutron = await project(cloud, Api(cloud, admin_token), "carol")
    left, right = await network(neutron, "10.33.0.0/24"), await network(neutron, "10.34.0.0/24")
    subnets = [
        (await neutron.get(f"subnets?network_id={n}")).body["subnets"][0]["id"]
        for n in (left, right)
    ]
    group = await neutron.create("security_group", name="pingable")
    await neutron.create(
        "security_group_rule",
        security_group_id=group["id"],
        direction="ingress",
        protocol="icmp",
        remote_ip_prefix="0.0.0.0/0",
    )
    servers: list[str] = []
    try:
        for name, net, ip, target in (("a", left, A, B), ("b", right, B, A)):
            servers.append(await boot(nova, name, image_id, net, ip, target, "pingable"))
        a, b = servers
        assert [await bound(nova, a), await bound(nova, b)] == [A, B]
        # Two networks that no router joins stay apart.
        seen_a = await until_pings(nova, a, B, "fail", after=0)
        seen_b = await until_pings(nova, b, A, "fail", after=0)
        router = await neutron.create("router", name="r")
        path = f"routers/{router['id']}"
        for subnet in subnets:
            added = await neutron.put(f"{path}/add_router_interface", {"subnet_id": subnet})
            assert added.status == 200, added.body
        seen_a = await until_pings(nova, a, B, "ok", after=seen_a)
        seen_b = await until_pings(nova, b, A, "ok", after=seen_b)
        removed = await neutron.put(f"{path}/remove_router_interface", {"subnet_id": subnets[1]})
        assert removed.status == 200
        await until_pings(nova, a, B, "fail", after=seen_a)
        await until_pings(nova, b, A, "fail", after=seen_b)
        assert f'"{bridge(left)}" . "{bridge(right)}"' not in await asyncio.to_thread(ruleset)
    finally:
        for server_id in servers:
            assert (await nova.delete(f"servers/{server_id}")).status == 204
        for server_id in servers:
            await wait_for(nova, server_id, "DELETED")
        await until_forgotten([bridge(left), bridge(right)])


@contextmanager
def outside() -> Iterator[None]:
    """A namespace beyond the host: `OUTSIDE` at the end of a veth whose host end holds
    `UPLINK`; it routes back to the external network `PUBLIC` only."""
    ns, veth = f"kumo-out-{os.getpid()}", f"kout{os.getpid() % 100000}"

    def ip(*args: str) -> None:
        subprocess.run(["ip", *args], check=True, capture_output=True)

    ip("netns", "add", ns)
    try:
        ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
        ip("addr", "add", f"{UPLINK}/24", "dev", veth)
        ip("link", "set", veth, "up")
        ip("-n", ns, "addr", "add", f"{OUTSIDE}/24", "dev", "eth0")
        ip("-n", ns, "link", "set", "eth0", "up")
        ip("-n", ns, "route", "add", PUBLIC, "via", UPLINK)
        yield
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


async def test_a_gateway_takes_a_guest_out_of_the_host_with_source_nat(
    cloud: Client, guest: TinyGuest
) -> None:
    admin_token = await token_for(cloud, password_auth("admin", ADMIN_PASSWORD, project="admin"))
    admin = Neutron(cloud, admin_token)
    image_id = await tiny_image(cloud, admin_token, guest)
    nova, neutron = await project(cloud, Api(cloud, admin_token), "dave")
    inside = await network(neutron, "10.35.0.0/24")
    [subnet] = (await neutron.get(f"subnets?network_id={inside}")).body["subnets"]
    public = await admin.create("network", name="public", **{"router:external": True})
    await admin.create(
        "subnet", network_id=public["id"], cidr=PUBLIC, ip_version=4, enable_dhcp=False
    )
    server = ""
    with outside():
        try:
            server = await boot(nova, "g", image_id, inside, GUEST, OUTSIDE, "default")
            assert await bound(nova, server) == GUEST
            seen = await until_pings(nova, server, OUTSIDE, "fail", after=0)
            router = await neutron.create(
                "router", external_gateway_info={"network_id": public["id"]}
            )
            path = f"routers/{router['id']}"
            await neutron.put(f"{path}/add_router_interface", {"subnet_id": subnet["id"]})
            seen = await until_pings(nova, server, OUTSIDE, "ok", after=seen)
            no_snat = {"network_id": public["id"], "enable_snat": False}
            changed = await admin.put(path, {"router": {"external_gateway_info": no_snat}})
            assert changed.status == 200, changed.body
            await until_pings(nova, server, OUTSIDE, "fail", after=seen)
        finally:
            if server:
                assert (await nova.delete(f"servers/{server}")).status == 204
                await wait_for(nova, server, "DELETED")
                await until_forgotten([bridge(inside)])
