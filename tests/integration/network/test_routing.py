"""Routers on this host's nftables (root and nft needed), through the network reactor:
the bridges of a router's subnets joined, its gateway's source NAT, a change of the
router rewritten, the table rebuilt after a restart and gone with the host's last server
(none on a host without the cloud's servers). Host networks are libvirt `open` networks,
which the table guards."""

import asyncio
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import libvirt
import pytest

from events.postgres import PostgresEventStore
from service.compute.hypervisor import NetworkSpec
from service.compute.libvirt import LibvirtDriver
from service.network.host import NetworkHost
from service.network.interfaces import bridge
from service.network.routing import Routing
from tests.integration.compute.conftest import Nova
from tests.integration.compute.test_servers import admin_nova, cloud, image_id, member, wait_for
from tests.integration.network.conftest import Neutron

__all__ = ["admin_nova", "cloud", "image_id", "member"]

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("nft") is None, reason="needs root and nft"
)


def _table(name: str) -> str:
    done = subprocess.run(["nft", "list", "table", "ip", name], capture_output=True, text=True)
    return " ".join(done.stdout.split())


@pytest.fixture
def routing() -> Iterator[Routing]:
    routing = Routing(f"kumo-rt-test{os.getpid()}")
    yield routing
    subprocess.run(["nft", "delete", "table", "ip", routing.name], capture_output=True)


async def _served(nova: Nova, neutron: Neutron, image_id: str, cidr: str) -> dict[str, Any]:
    """A subnet on a network of its own, which a server (placed on h1) uses."""
    network = await neutron.create("network")
    subnet = await neutron.create("subnet", network_id=network["id"], cidr=cidr, ip_version=4)
    body = {"name": cidr, "imageRef": image_id, "flavorRef": "1"}
    reply = await nova.post("servers", {"server": body | {"networks": [{"uuid": network["id"]}]}})
    assert reply.status == 202, reply.body
    await wait_for(nova, reply.body["server"]["id"], "ACTIVE")
    return subnet | {"server_id": reply.body["server"]["id"]}


async def test_routers_are_realised_changed_rebuilt_and_removed(
    member: Nova, admin_nova: Nova, image_id: str, store: PostgresEventStore, routing: Routing
) -> None:
    neutron = Neutron(member.client, member.token)
    admin = Neutron(admin_nova.client, admin_nova.token)
    public = await admin.create("network", name="public", **{"router:external": True})
    await admin.create("subnet", network_id=public["id"], cidr="203.0.113.0/28", ip_version=4)
    one, two, apart = [
        await _served(member, neutron, image_id, f"10.{i}.0.0/24") for i in (1, 2, 3)
    ]
    a, b, c = (bridge(s["network_id"]) for s in (one, two, apart))
    router = await neutron.create("router", external_gateway_info={"network_id": public["id"]})
    out = router["external_gateway_info"]["external_fixed_ips"][0]["ip_address"]
    path = f"routers/{router['id']}"
    for subnet in (one, two):
        await neutron.put(f"{path}/add_router_interface", {"subnet_id": subnet["id"]})
    async with LibvirtDriver("test:///default") as driver:
        await NetworkHost(store, driver, "elsewhere", routing=routing).reconcile()
        assert await asyncio.to_thread(_table, routing.name) == ""
        network = NetworkHost(store, driver, "h1", routing=routing)
        await network.reconcile()
        table = await asyncio.to_thread(_table, routing.name)
        assert f'"{a}" . "{b}"' in table and f'"{b}" . "{a}"' in table
        assert f'"{a}" . "{c}"' not in table and f'"{c}" . "{c}"' in table
        assert f'ip saddr 10.1.0.0/24 oifname != "kb-*" snat to {out}' in table
        assert "iifname @bridges drop" in table
        snat = {"network_id": public["id"], "enable_snat": False}
        await admin.put(path, {"router": {"external_gateway_info": snat}})
        await neutron.put(f"{path}/remove_router_interface", {"subnet_id": two["id"]})
        await network.realise_routes()
        table = await asyncio.to_thread(_table, routing.name)
        assert f'"{a}" . "{b}"' not in table and "snat to" not in table
        assert 'iifname @outward oifname != "kb-*" accept' in table
        # A restart writes it again from the read models.
        await routing.remove()
        restarted = NetworkHost(store, driver, "h1", routing=Routing(routing.name))
        await restarted.reconcile()
        assert f'"{a}" . "{a}"' in await asyncio.to_thread(_table, routing.name)
        # The host's last server gone, the table goes.
        for subnet in (one, two, apart):
            assert (await member.delete(f"servers/{subnet['server_id']}")).status == 204
            await wait_for(member, subnet["server_id"], "DELETED")
        await restarted.realise_routes()
        assert await asyncio.to_thread(_table, routing.name) == ""


async def test_host_networks_are_open_for_the_routing_table_to_guard() -> None:
    spec = NetworkSpec(name="kumo-open-test", bridge="kb-opentest", address="10.9.0.1")
    host = libvirt.open("test:///default")
    try:
        async with LibvirtDriver("test:///default") as driver:
            await driver.ensure_network(spec)
            forward = ET.fromstring(host.networkLookupByName(spec.name).XMLDesc(0)).find("forward")
            assert forward is not None and forward.get("mode") == "open"
            await driver.remove_network(spec.name)
    finally:
        host.close()
