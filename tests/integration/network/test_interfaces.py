"""os-interface attach and detach on libvirt's test driver: a port bound to a server (one
given, or made on a network with the address asked for) and its interface plugged into the
server's domain by its host, unplugged again and the port released (deleted when made for
the attach, unbound when given); who may do it, and the errors Nova answers."""

import asyncio
from typing import Any

import libvirt

from service.compute.domain_xml import interface_macs
from tests.integration.compute.conftest import Nova
from tests.integration.compute.test_servers import (
    TIMEOUT,
    admin_nova,
    cloud,
    image_id,
    member,
    wait_for,
)
from tests.integration.identity.conftest import Api, make_person
from tests.integration.network.conftest import Neutron, boot_active, neutron_of

__all__ = ["admin_nova", "cloud", "image_id", "member"]


async def _defined_macs(server_id: str) -> set[str]:
    """The MAC addresses in the server's domain definition (the app's driver keeps the
    test driver's shared state open)."""

    def read() -> str:
        conn = libvirt.open("test:///default")
        try:
            dom = conn.lookupByUUIDString(server_id)
            return str(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        finally:
            conn.close()

    return interface_macs(await asyncio.to_thread(read))


async def _until(check: Any) -> None:
    """Wait until the async predicate holds (the host acts after the API answers)."""
    async with asyncio.timeout(TIMEOUT):
        while not await check():
            await asyncio.sleep(0.05)


async def _lan(neutron: Neutron) -> dict[str, Any]:
    net = await neutron.create("network", name="lan")
    await neutron.create("subnet", network_id=net["id"], cidr="172.16.0.0/24", ip_version=4)
    return net


async def test_attach_by_network_and_by_port_then_detach(member: Nova, image_id: str) -> None:
    neutron = neutron_of(member)
    server = await boot_active(member.at("2.37"), image_id, "s1", networks="none")
    sid = server["id"]
    assert server["addresses"] == {}
    net = await _lan(neutron)
    asked = {
        "interfaceAttachment": {"net_id": net["id"], "fixed_ips": [{"ip_address": "172.16.0.20"}]}
    }
    made = (await member.post(f"servers/{sid}/os-interface", asked)).check(
        "interfaces.get_create_interfaces"
    )["interfaceAttachment"]
    assert made["net_id"] == net["id"] and made["port_state"] == "ACTIVE"
    assert made["fixed_ips"][0]["ip_address"] == "172.16.0.20"
    port = (await neutron.get(f"ports/{made['port_id']}")).body["port"]
    assert (port["device_id"], port["device_owner"]) == (sid, "compute:nova")
    assert port["mac_address"] == made["mac_addr"]
    await _until(lambda: _has(sid, made["mac_addr"]))
    lease = f"<host mac='{made['mac_addr']}' ip='172.16.0.20'"
    await _until(lambda: _host_network_holds(net["id"], lease))
    [address] = (await member.get(f"servers/{sid}")).body["server"]["addresses"]["lan"]
    assert (address["addr"], address["OS-EXT-IPS:type"]) == ("172.16.0.20", "fixed")
    assert address["OS-EXT-IPS-MAC:mac_addr"] == made["mac_addr"]

    given = await neutron.create("port", network_id=net["id"], name="mine")
    body = {"interfaceAttachment": {"port_id": given["id"]}}
    plugged = (await member.post(f"servers/{sid}/os-interface", body)).body["interfaceAttachment"]
    assert plugged["port_id"] == given["id"] and plugged["mac_addr"] == given["mac_address"]
    listed = (await member.get(f"servers/{sid}/os-interface")).check("interfaces.list_interfaces")
    assert {i["port_id"] for i in listed["interfaceAttachments"]} == {made["port_id"], given["id"]}
    tagged = (await member.at("2.70").get(f"servers/{sid}/os-interface")).check(
        "interfaces.list_interfaces", "v2_70"
    )
    assert {i["tag"] for i in tagged["interfaceAttachments"]} == {None}, "Kumo takes no tags"
    shown = await member.at("2.70").get(f"servers/{sid}/os-interface/{given['id']}")
    assert (
        shown.check("interfaces.get_create_interfaces", "v2_70")["interfaceAttachment"]["tag"]
        is None
    )
    await _until(lambda: _has(sid, given["mac_address"]))

    assert (await member.delete(f"servers/{sid}/os-interface/{given['id']}")).status == 202
    await _until(lambda: _unbound(neutron, given["id"]))
    kept = (await neutron.get(f"ports/{given['id']}")).body["port"]
    assert kept["fixed_ips"] == given["fixed_ips"] and kept["status"] == "DOWN"
    assert await _defined_macs(sid) == {made["mac_addr"]}

    assert (await member.delete(f"servers/{sid}/os-interface/{made['port_id']}")).status == 202
    await _until(lambda: _gone(neutron, made["port_id"]))
    assert await _defined_macs(sid) == set()
    assert (await member.get(f"servers/{sid}")).body["server"]["addresses"] == {}
    await _until(lambda: _host_network_gone(net["id"]))
    actions = (await member.get(f"servers/{sid}/os-instance-actions")).body["instanceActions"]
    done = [a["action"] for a in actions][:4]
    assert done == ["detach_interface"] * 2 + ["attach_interface"] * 2
    # The address made for the attach is free again.
    again = await member.post(f"servers/{sid}/os-interface", asked)
    assert again.status == 200, again.body


def _host_network(network_id: str) -> str | None:
    """The XML of the network's host network on the test driver, None if it has none."""
    conn = libvirt.open("test:///default")
    try:
        return str(conn.networkLookupByName(f"kumo-{network_id}").XMLDesc(0))
    except libvirt.libvirtError:
        return None
    finally:
        conn.close()


async def _host_network_holds(network_id: str, text: str) -> bool:
    return text in (await asyncio.to_thread(_host_network, network_id) or "")


async def _host_network_gone(network_id: str) -> bool:
    return await asyncio.to_thread(_host_network, network_id) is None


async def _has(server_id: str, mac: str) -> bool:
    return mac in await _defined_macs(server_id)


async def _unbound(neutron: Neutron, port_id: str) -> bool:
    return bool((await neutron.get(f"ports/{port_id}")).body["port"]["device_id"] == "")


async def _gone(neutron: Neutron, port_id: str) -> bool:
    return (await neutron.get(f"ports/{port_id}")).status == 404


async def test_a_shut_off_server_gets_the_interface_in_its_definition(
    member: Nova, image_id: str
) -> None:
    server = await boot_active(member, image_id, "s1")
    sid = server["id"]
    assert (await member.post(f"servers/{sid}/action", {"os-stop": None})).status == 202
    await wait_for(member, sid, "SHUTOFF")
    net = await _lan(neutron_of(member))
    body = {"interfaceAttachment": {"net_id": net["id"]}}
    made = (await member.post(f"servers/{sid}/os-interface", body)).body["interfaceAttachment"]
    await _until(lambda: _has(sid, made["mac_addr"]))
    shown = (await member.get(f"servers/{sid}")).body["server"]
    assert set(shown["addresses"]) == {"auto_allocated_network", "lan"}
    assert shown["status"] == "SHUTOFF"
    # No network named: the project's default network, as a server without one gets.
    other = (await member.post(f"servers/{sid}/os-interface", {"interfaceAttachment": {}})).body
    default = (await neutron_of(member).get("networks?name=auto_allocated_network")).body
    assert other["interfaceAttachment"]["net_id"] == default["networks"][0]["id"]


async def test_who_may_attach_and_the_errors(member: Nova, admin_nova: Nova, image_id: str) -> None:
    neutron = neutron_of(member)
    server = await boot_active(member, image_id, "s1")
    sid = server["id"]
    path = f"servers/{sid}/os-interface"
    net = await _lan(neutron)
    port = await neutron.create("port", network_id=net["id"])
    missing = "00000000-0000-0000-0000-000000000000"

    async def attach(nova: Nova, where: str, **fields: Any) -> int:
        return (await nova.post(where, {"interfaceAttachment": fields})).status

    assert await attach(member, path, port_id=missing) == 404
    assert await attach(member, path, net_id=missing) == 404
    assert await attach(member, f"servers/{missing}/os-interface", net_id=net["id"]) == 404
    assert await attach(member, path, port_id=port["id"], net_id=net["id"]) == 400
    assert await attach(member, path, port_id="not-a-uuid") == 400
    assert await attach(member, path, fixed_ips=[{"ip_address": "172.16.0.9"}]) == 400
    assert (
        await attach(member, path, net_id=net["id"], fixed_ips=[{"ip_address": "10.9.9.9"}]) == 400
    )
    assert await attach(member, path, net_id=net["id"], tag="nic1") == 400
    taken = port["fixed_ips"][0]["ip_address"]
    assert await attach(member, path, net_id=net["id"], fixed_ips=[{"ip_address": taken}]) == 409
    assert (await member.delete(f"{path}/{port['id']}")).status == 404
    assert (await member.delete(f"{path}/{missing}")).status == 404

    as_admin = Api(member.client, admin_nova.token)
    projects = (await as_admin.call("GET", "projects?name=p-mia"))[1]["projects"]
    reader = await make_person(as_admin, "reader", "rhea", projects[0]["id"])
    rhea = Nova(member.client, reader.token)
    assert (await rhea.get(path)).status == 200
    assert await attach(rhea, path, port_id=port["id"]) == 403
    stranger = Nova(member.client, (await make_person(as_admin, "member", "sam")).token)
    assert (await stranger.get(path)).status == 404
    assert (await stranger.get(f"{path}/{port['id']}")).status == 404
    assert await attach(stranger, path, port_id=port["id"]) == 404
    theirs = await boot_active(stranger, image_id, "theirs")
    assert await attach(stranger, f"servers/{theirs['id']}/os-interface", port_id=port["id"]) == 404
    assert await attach(stranger, f"servers/{theirs['id']}/os-interface", net_id=net["id"]) == 404

    assert await attach(member, path, port_id=port["id"]) == 200
    assert (await rhea.delete(f"{path}/{port['id']}")).status == 403
    second = await boot_active(member, image_id, "s2")
    assert await attach(member, f"servers/{second['id']}/os-interface", port_id=port["id"]) == 409
    assert (await member.post(f"servers/{sid}/action", {"lock": None})).status == 202
    assert (await member.delete(f"{path}/{port['id']}")).status == 409
    assert (await admin_nova.delete(f"{path}/{port['id']}")).status == 202


def _lose_domain(server_id: str) -> None:
    """Destroy and undefine the server's domain behind Kumo's back."""
    conn = libvirt.open("test:///default")
    try:
        dom = conn.lookupByUUIDString(server_id)
        dom.destroy()
        dom.undefine()
    finally:
        conn.close()


async def test_a_failed_plug_releases_the_port(member: Nova, image_id: str) -> None:
    """When the host cannot plug the interface, the attach is recorded as failed and the
    port is let go of: deleted if made for it, unbound if given."""
    neutron = neutron_of(member)
    server = await boot_active(member.at("2.37"), image_id, "s1", networks="none")
    sid = server["id"]
    net = await _lan(neutron)
    given = await neutron.create("port", network_id=net["id"])
    await asyncio.to_thread(_lose_domain, sid)
    made = await member.post(
        f"servers/{sid}/os-interface", {"interfaceAttachment": {"net_id": net["id"]}}
    )
    assert made.status == 200, made.body
    port_id = made.body["interfaceAttachment"]["port_id"]
    await _until(lambda: _gone(neutron, port_id))
    body = {"interfaceAttachment": {"port_id": given["id"]}}
    assert (await member.post(f"servers/{sid}/os-interface", body)).status == 200
    await _until(lambda: _unbound(neutron, given["id"]))
    assert (await member.get(f"servers/{sid}/os-interface")).body["interfaceAttachments"] == []
    actions = (await member.get(f"servers/{sid}/os-instance-actions")).body["instanceActions"]
    request_id = actions[0]["request_id"]
    detail = (await member.at("2.51").get(f"servers/{sid}/os-instance-actions/{request_id}")).body
    assert detail["instanceAction"]["action"] == "attach_interface"
    assert [e["result"] for e in detail["instanceAction"]["events"]] == ["Error"]
