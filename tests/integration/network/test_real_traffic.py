"""Real traffic between tiny guests on qemu:///system (marked `vm`), through the API: two
guests of one project get the DHCP addresses the API shows and ping each other only once
their security group allows ICMP; a guest on another project's network reaches neither;
a floating IP, which needs a router from the guest's subnet to its network, makes a guest
answer the host's ping while that router is up, until it is disassociated. Each guest pings
the addresses its user_data names once a second and prints the results on its console,
read through the API. Nothing is left on the host."""

import asyncio
import base64
import re
import subprocess

import pytest

from service.compute.hypervisor import Hypervisor
from service.network.interfaces import host_network
from service.network.nftables import Nftables
from tests.integration.compute.conftest import Nova
from tests.integration.compute.test_servers import wait_for
from tests.integration.compute.test_vm_through_the_api import (
    chunks,
    cloud,
    cloud_host,
    console,
    data_dir,
    guest,
)
from tests.integration.identity.conftest import (
    ADMIN_PASSWORD,
    Api,
    Client,
    make_person,
    password_auth,
    token_for,
)
from tests.integration.network.conftest import Neutron, router_between
from tools.build_test_guest import DHCP_BOUND, TinyGuest

__all__ = ["cloud", "data_dir", "guest"]
pytestmark = pytest.mark.vm
BOOT_TIMEOUT = 120
"""Seconds for three guests booting at once under TCG on a busy 2-core host."""
CHANGE_TIMEOUT = 15
"""Seconds a rule or floating IP change gets to show in the guests' pings."""
PINGER = """#!/bin/sh
while :; do
    for ip in {targets}; do
        if ping -c 1 -W 1 $ip >/dev/null 2>&1; then r=ok; else r=fail; fi
        echo "KUMO-PING $ip $r"
    done
    sleep 1
done
"""
A, B, C = "10.31.0.11", "10.31.0.12", "10.32.0.11"


def pings(output: str, ip: str) -> list[str]:
    """The guest's ping results for `ip`, oldest first."""
    return re.findall(rf"^KUMO-PING {re.escape(ip)} (ok|fail)\r?$", output, re.MULTILINE)


async def until_pings(nova: Nova, server_id: str, ip: str, result: str, *, after: int) -> int:
    """Wait for three results for `ip` past the first `after`, the last of them `result`;
    how many results there were then."""
    try:
        async with asyncio.timeout(CHANGE_TIMEOUT):
            while True:
                output = await console(nova, server_id)
                found = pings(output, ip)
                if len(found) >= after + 3 and found[-1] == result:
                    return len(found)
                await asyncio.sleep(0.5)
    except TimeoutError:
        raise AssertionError(
            f"no {result} pings of {ip}; the console ends:\n{output[-1500:]}"
        ) from None


async def boot(
    nova: Nova, name: str, image_id: str, network_id: str, ip: str, targets: str, group: str
) -> str:
    body = {
        "name": name,
        "imageRef": image_id,
        "flavorRef": "1",
        "networks": [{"uuid": network_id, "fixed_ip": ip}],
        "security_groups": [{"name": group}],
        "config_drive": True,
        "user_data": base64.b64encode(PINGER.format(targets=targets).encode()).decode(),
    }
    reply = await nova.post("servers", {"server": body})
    assert reply.status == 202, reply.body
    return str(reply.body["server"]["id"])


async def bound(nova: Nova, server_id: str) -> str:
    """The address the guest's DHCP client got."""
    await wait_for(nova, server_id, "ACTIVE")
    async with asyncio.timeout(BOOT_TIMEOUT):
        while not (found := re.search(rf"{DHCP_BOUND} eth0 (\S+)", await console(nova, server_id))):
            await asyncio.sleep(0.5)
    return found.group(1)


def host_pings(address: str) -> bool:
    """Whether the host's ping of `address` is answered (busybox's: kumo.sh installs it)."""
    return (
        subprocess.run(
            ["busybox", "ping", "-c", "1", "-W", "1", address], capture_output=True
        ).returncode
        == 0
    )


async def until_host_pings(address: str, answers: bool) -> None:
    async with asyncio.timeout(CHANGE_TIMEOUT):
        while await asyncio.to_thread(host_pings, address) != answers:
            await asyncio.sleep(0.2)


async def project(cloud: Client, as_admin: Api, name: str) -> tuple[Nova, Neutron]:
    person = await make_person(as_admin, "member", name)
    token = await token_for(cloud, password_auth(name, person.password, project=f"p-{name}"))
    return Nova(cloud, token), Neutron(cloud, token)


async def network(neutron: Neutron, cidr: str) -> str:
    net = await neutron.create("network", name="net")
    await neutron.create("subnet", network_id=net["id"], cidr=cidr, ip_version=4)
    return str(net["id"])


def port_chains(ports: list[str]) -> set[str]:
    """The ports that still have security group chains in the host's nftables."""
    ruleset = subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True).stdout
    return {p for p in ports if f"chain ingress-{p} " in ruleset or f"chain to-{p} " in ruleset}


async def leftovers(host: Hypervisor, networks: list[str], ports: list[str], fip: str) -> set[str]:
    """What the test made on the host that is still there."""
    found = set(await host.list_networks()) & {host_network(n) for n in networks}
    found |= await asyncio.to_thread(port_chains, ports)
    return found | ({fip} & set(await Nftables().floating_ip_ids()))


async def tiny_image(cloud: Client, admin_token: str, guest: TinyGuest) -> str:
    """The tiny guest's disk as a public image; its id."""
    image = await Neutron(cloud, admin_token).nova.call(
        "POST",
        "images",
        {
            "name": "tiny",
            "disk_format": "qcow2",
            "container_format": "bare",
            "visibility": "public",
        },
        prefix="/image/v2",
    )
    assert image.status == 201, image.body
    upload = await cloud.put(
        f"/image/v2/images/{image.body['id']}/file",
        data=chunks(guest.disk.read_bytes()),
        headers={"X-Auth-Token": admin_token, "Content-Type": "application/octet-stream"},
    )
    assert upload.status == 204
    return str(image.body["id"])


async def test_security_groups_isolation_and_floating_ips_with_real_traffic(
    cloud: Client, guest: TinyGuest
) -> None:
    admin_token = await token_for(cloud, password_auth("admin", ADMIN_PASSWORD, project="admin"))
    as_admin = Api(cloud, admin_token)
    image_id = await tiny_image(cloud, admin_token, guest)
    (nova, neutron), (other_nova, other_neutron) = [
        await project(cloud, as_admin, name) for name in ("alice", "bob")
    ]
    ours, theirs = (
        await network(neutron, "10.31.0.0/24"),
        await network(other_neutron, "10.32.0.0/24"),
    )
    group = await neutron.create("security_group", name="quiet")
    assert {r["direction"] for r in group["security_group_rules"]} == {"egress"}
    servers: list[tuple[Nova, str]] = []
    ports: list[str] = []
    fip_id = ""
    try:
        for owner, name, net, ip, targets, sg in (
            (nova, "a", ours, A, B, "quiet"),
            (nova, "b", ours, B, A, "quiet"),
            (other_nova, "c", theirs, C, f"{A} {B}", "default"),
        ):
            servers.append((owner, await boot(owner, name, image_id, net, ip, targets, sg)))
        (_, a), (_, b), (_, c) = servers
        for (owner, server_id), ip in zip(servers, (A, B, C), strict=True):
            assert await bound(owner, server_id) == ip
            shown = (await owner.get(f"servers/{server_id}")).body["server"]["addresses"]
            assert [x["addr"] for x in shown["net"]] == [ip]
            ports += [
                p["id"] for p in (await owner.neutron(f"ports?device_id={server_id}")).body["ports"]
            ]

        # Without an ingress rule the group drops the pings both ways.
        seen_a = await until_pings(nova, a, B, "fail", after=0)
        seen_b = await until_pings(nova, b, A, "fail", after=0)
        await neutron.create(
            "security_group_rule",
            security_group_id=group["id"],
            direction="ingress",
            protocol="icmp",
            remote_ip_prefix="0.0.0.0/0",
        )
        await until_pings(nova, a, B, "ok", after=seen_a)
        await until_pings(nova, b, A, "ok", after=seen_b)
        # Another project's network reaches neither, whatever their rules allow.
        seen = len(pings(await console(other_nova, c), A))
        await until_pings(other_nova, c, A, "fail", after=seen)
        assert "ok" not in pings(await console(other_nova, c), A) + pings(
            await console(other_nova, c), B
        )

        public = await Neutron(cloud, admin_token).create(
            "network", name="public", **{"router:external": True}
        )
        await Neutron(cloud, admin_token).create(
            "subnet",
            network_id=public["id"],
            cidr="198.51.100.0/28",
            ip_version=4,
            enable_dhcp=False,
        )
        # A floating IP needs a router from its port's subnet to the external network,
        # and its NAT is that router's: the guest answers only while the router is up.
        unrouted = await neutron.post(
            "floatingips",
            {"floatingip": {"floating_network_id": public["id"], "port_id": ports[0]}},
        )
        assert unrouted.status == 404
        [subnet] = (await neutron.get(f"subnets?network_id={ours}")).body["subnets"]
        router = await router_between(neutron, public["id"], subnet["id"])
        fip = await neutron.create("floatingip", floating_network_id=public["id"], port_id=ports[0])
        fip_id = fip["id"]
        assert fip["router_id"] == router["id"]
        await until_host_pings(fip["floating_ip_address"], True)
        path = f"routers/{router['id']}"
        for up in (False, True):
            assert (await neutron.put(path, {"router": {"admin_state_up": up}})).status == 200
            await until_host_pings(fip["floating_ip_address"], up)
        interface = {"subnet_id": subnet["id"]}
        assert (await neutron.put(f"{path}/remove_router_interface", interface)).status == 409
        unlinked = await neutron.put(f"floatingips/{fip['id']}", {"floatingip": {"port_id": None}})
        assert unlinked.status == 200
        await until_host_pings(fip["floating_ip_address"], False)
        assert (await neutron.delete(f"floatingips/{fip['id']}")).status == 204
        assert (await neutron.put(f"{path}/remove_router_interface", interface)).status == 200
        assert (await neutron.delete(path)).status == 204
    finally:
        for owner, server_id in servers:
            assert (await owner.delete(f"servers/{server_id}")).status == 204
        for owner, server_id in servers:
            await wait_for(owner, server_id, "DELETED")
        async with asyncio.timeout(CHANGE_TIMEOUT):
            while await leftovers(cloud_host(cloud), [ours, theirs], ports, fip_id):
                await asyncio.sleep(0.2)
