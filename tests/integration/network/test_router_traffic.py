"""Real traffic through a router between tiny guests on qemu:///system (marked `vm`): two
guests of one project on two networks ping each other only while one router has an
interface on both subnets; their security group still decides what reaches them. The
host keeps no path between the networks afterwards."""

import asyncio
import subprocess

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
from tests.integration.network.test_real_traffic import (
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


def joined(left: str, right: str) -> bool:
    """Whether some routing table of the host joins the two bridges."""
    ruleset = subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True).stdout
    return f'"{left}" . "{right}"' in ruleset


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
        assert not await asyncio.to_thread(joined, bridge(left), bridge(right))
    finally:
        for server_id in servers:
            assert (await nova.delete(f"servers/{server_id}")).status == 204
        for server_id in servers:
            await wait_for(nova, server_id, "DELETED")
