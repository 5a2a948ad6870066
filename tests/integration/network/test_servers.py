"""Nova's side of networking on libvirt's test driver: a server's ports (the project's
default network, none, or the networks, ports and addresses it names), its addresses in
server views, and its ports released when it is deleted."""

from tests.integration.compute.conftest import Nova
from tests.integration.compute.test_servers import (
    admin_nova,
    cloud,
    image_id,
    member,
    wait_for,
)
from tests.integration.network.conftest import boot_active, neutron_of, router_between

__all__ = ["admin_nova", "cloud", "image_id", "member"]


async def test_a_server_gets_the_default_network_and_gives_it_back(
    member: Nova, image_id: str
) -> None:
    neutron = neutron_of(member)
    server = await boot_active(member, image_id, "s1")
    [(network, [address])] = server["addresses"].items()
    assert network == "auto_allocated_network"
    assert address["version"] == 4 and address["OS-EXT-IPS:type"] == "fixed"
    [port] = (await neutron.get(f"ports?device_id={server['id']}")).body["ports"]
    assert port["device_owner"] == "compute:nova" and port["status"] == "ACTIVE"
    assert address["OS-EXT-IPS-MAC:mac_addr"] == port["mac_address"]
    assert address["addr"] == port["fixed_ips"][0]["ip_address"]
    attached = (await member.get(f"servers/{server['id']}/os-interface")).check(
        "interfaces.list_interfaces"
    )["interfaceAttachments"]
    assert [(i["port_id"], i["mac_addr"]) for i in attached] == [(port["id"], port["mac_address"])]
    one = await member.get(f"servers/{server['id']}/os-interface/{port['id']}")
    assert one.check("interfaces.get_create_interfaces")["interfaceAttachment"] == attached[0]
    ips = (await member.get(f"servers/{server['id']}/ips")).check("servers.list_addresses")
    assert ips == {"addresses": {network: [{"version": 4, "addr": address["addr"]}]}}
    by_network = await member.get(f"servers/{server['id']}/ips/{network}")
    assert by_network.check("servers.list_addresses_by_network") == {
        network: ips["addresses"][network]
    }
    assert (await member.get(f"servers/{server['id']}/ips/elsewhere")).status == 404
    second = await boot_active(member, image_id, "s2")
    [other] = second["addresses"]["auto_allocated_network"]
    assert other["addr"] != address["addr"]
    listed = (await member.get("servers/detail")).body["servers"]
    assert {s["id"]: bool(s["addresses"]) for s in listed} == {
        server["id"]: True,
        second["id"]: True,
    }
    assert len((await neutron.get("networks")).body["networks"]) == 1
    web = await neutron.create("security_group", name="web")
    action = f"servers/{server['id']}/action"
    assert (await member.post(action, {"addSecurityGroup": {"name": "web"}})).status == 202
    grouped = (await neutron.get(f"ports/{port['id']}")).body["port"]
    assert set(grouped["security_groups"]) == {*port["security_groups"], web["id"]}
    assert (await member.post(action, {"removeSecurityGroup": {"name": "default"}})).status == 202
    assert (await neutron.get(f"ports/{port['id']}")).body["port"]["security_groups"] == [web["id"]]
    assert (await member.delete(f"servers/{server['id']}")).status == 204
    assert (await neutron.get(f"ports?device_id={server['id']}")).body["ports"] == []
    await wait_for(member, server["id"], "DELETED")


async def test_networks_none_named_networks_ports_and_addresses(
    member: Nova, image_id: str
) -> None:
    neutron = neutron_of(member)
    lonely = await boot_active(member.at("2.37"), image_id, "none", networks="none")
    assert lonely["addresses"] == {}
    net = await neutron.create("network", name="lan")
    await neutron.create("subnet", network_id=net["id"], cidr="172.16.0.0/24", ip_version=4)
    fixed = await boot_active(
        member, image_id, "fixed", networks=[{"uuid": net["id"], "fixed_ip": "172.16.0.50"}]
    )
    assert [a["addr"] for a in fixed["addresses"]["lan"]] == ["172.16.0.50"]
    port = await neutron.create("port", network_id=net["id"], name="mine")
    given = await boot_active(member, image_id, "given", networks=[{"port": port["id"]}])
    assert [a["addr"] for a in given["addresses"]["lan"]] == [port["fixed_ips"][0]["ip_address"]]
    busy = await member.post(
        "servers",
        {
            "server": {
                "name": "busy",
                "imageRef": image_id,
                "flavorRef": "1",
                "networks": [{"port": port["id"]}],
            }
        },
    )
    assert busy.status == 409
    taken = await member.post(
        "servers",
        {
            "server": {
                "name": "taken",
                "imageRef": image_id,
                "flavorRef": "1",
                "networks": [{"uuid": net["id"], "fixed_ip": "172.16.0.50"}],
            }
        },
    )
    assert taken.status == 409
    unknown = await member.post(
        "servers",
        {
            "server": {
                "name": "x",
                "imageRef": image_id,
                "flavorRef": "1",
                "networks": [{"uuid": "00000000-0000-0000-0000-000000000000"}],
            }
        },
    )
    assert unknown.status == 400
    assert (await member.delete(f"servers/{given['id']}")).status == 204
    kept = (await neutron.get(f"ports/{port['id']}")).body["port"]
    assert kept["device_id"] == "" and kept["fixed_ips"] == port["fixed_ips"]
    assert (await member.delete(f"servers/{fixed['id']}")).status == 204
    again = await boot_active(
        member, image_id, "again", networks=[{"uuid": net["id"], "fixed_ip": "172.16.0.50"}]
    )
    assert [a["addr"] for a in again["addresses"]["lan"]] == ["172.16.0.50"]


async def test_floating_ip_shows_in_server_addresses(
    member: Nova, admin_nova: Nova, image_id: str
) -> None:
    public = await neutron_of(admin_nova).create("network", **{"router:external": True})
    await neutron_of(admin_nova).create(
        "subnet", network_id=public["id"], cidr="203.0.113.0/24", ip_version=4
    )
    server = await boot_active(member, image_id, "s1")
    neutron = neutron_of(member)
    [port] = (await neutron.get(f"ports?device_id={server['id']}")).body["ports"]
    [fixed] = port["fixed_ips"]
    fip = await neutron.create("floatingip", floating_network_id=public["id"])
    action = f"servers/{server['id']}/action"
    added = {"addFloatingIp": {"address": fip["floating_ip_address"]}}
    # Nova's proxy answers Neutron's refusal (no router) with a 400, as Nova does.
    unrouted = await member.post(action, added)
    assert unrouted.status == 400
    assert unrouted.body["badRequest"]["message"] == (
        f"Unable to associate floating IP {fip['floating_ip_address']} to fixed IP "
        f"{fixed['ip_address']} for instance {server['id']}. Error: External network "
        f"{public['id']} is not reachable from subnet {fixed['subnet_id']}.  Therefore, "
        f"cannot associate Port {port['id']} with a Floating IP."
    )
    router = await router_between(neutron, public["id"], fixed["subnet_id"])
    assert (await member.post(action, added)).status == 202
    linked = (await neutron.get(f"floatingips/{fip['id']}")).body["floatingip"]
    assert (linked["port_id"], linked["router_id"]) == (port["id"], router["id"])
    shown = (await member.get(f"servers/{server['id']}")).body["server"]
    kinds = [
        (a["addr"], a["OS-EXT-IPS:type"]) for a in shown["addresses"]["auto_allocated_network"]
    ]
    assert kinds == [(fixed["ip_address"], "fixed"), (fip["floating_ip_address"], "floating")]
    released = {"removeFloatingIp": {"address": fip["floating_ip_address"]}}
    assert (await member.post(action, released)).status == 202
    assert (await member.post(action, released)).status == 409
    assert (await member.post(action, added)).status == 202
    unknown = await member.post(action, {"addFloatingIp": {"address": "192.0.2.99"}})
    assert unknown.status == 404
    gone = await member.at("2.44").post(action, released)
    assert gone.status == 404
    assert (await member.delete(f"servers/{server['id']}")).status == 204
    left = (await neutron.get(f"floatingips/{fip['id']}")).body["floatingip"]
    assert left["port_id"] is None and left["router_id"] is None


async def test_a_refused_server_gives_its_ports_back(
    member: Nova, admin_nova: Nova, image_id: str
) -> None:
    """Ports are made before the server's append; when that append is refused (here by
    the compute quota), they are deleted again and their addresses are free."""
    neutron = neutron_of(member)
    await boot_active(member, image_id, "first")
    [network] = (await neutron.get("networks")).body["networks"]
    project_id = network["project_id"]
    limits = {"quota_set": {"instances": 1}}
    assert (await admin_nova.put(f"os-quota-sets/{project_id}", limits)).status == 200
    refused = await member.post(
        "servers", {"server": {"name": "second", "imageRef": image_id, "flavorRef": "1"}}
    )
    assert refused.status == 403
    ports = (await neutron.get("ports")).body["ports"]
    assert len(ports) == 1


async def test_update_and_rebuild_answer_with_the_servers_addresses(
    member: Nova, image_id: str
) -> None:
    """PUT /servers/{id} and the rebuild action show `addresses` as GET does."""
    server = await boot_active(member, image_id, "s1")
    [address] = server["addresses"]["auto_allocated_network"]
    shown = {"auto_allocated_network": [{"version": 4, "addr": address["addr"]}]}
    updated = await member.put(f"servers/{server['id']}", {"server": {"name": "renamed"}})
    assert updated.check("servers.update_server")["server"]["addresses"] == shown
    reply = await member.post(f"servers/{server['id']}/action", {"rebuild": {"imageRef": image_id}})
    rebuilt = reply.check("servers.rebuild_server_with_admin_pass")["server"]
    assert rebuilt["addresses"] == shown
