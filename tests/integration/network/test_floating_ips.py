"""Floating IPs on an external network: allocate, associate with a port, disassociate,
release; addresses exact and scoped to their project."""

from tests.integration.identity.conftest import Person
from tests.integration.network.conftest import Neutron


async def test_floating_ip_flow(
    net_admin: Neutron, net_alice: Neutron, net_bob: Neutron, alice: Person
) -> None:
    public = await net_admin.create("network", name="public", **{"router:external": True})
    await net_admin.create(
        "subnet",
        network_id=public["id"],
        cidr="203.0.113.0/29",
        ip_version=4,
        enable_dhcp=False,
    )
    private = await net_alice.create("network")
    await net_alice.create("subnet", network_id=private["id"], cidr="10.0.0.0/24", ip_version=4)
    port = await net_alice.create("port", network_id=private["id"])
    fip = await net_alice.create("floatingip", floating_network_id=public["id"])
    assert fip["status"] == "DOWN" and fip["port_id"] is None and fip["router_id"] is None
    assert fip["floating_ip_address"].startswith("203.0.113.")
    assert fip["project_id"] == alice.project_id
    linked = await net_alice.put(
        f"floatingips/{fip['id']}", {"floatingip": {"port_id": port["id"]}}
    )
    assert linked.status == 200
    assert linked.body["floatingip"]["fixed_ip_address"] == port["fixed_ips"][0]["ip_address"]
    assert linked.body["floatingip"]["status"] == "ACTIVE"
    second = await net_alice.post(
        "floatingips", {"floatingip": {"floating_network_id": public["id"], "port_id": port["id"]}}
    )
    assert second.status == 409
    assert (await net_bob.get(f"floatingips/{fip['id']}")).status == 404
    stolen = await net_bob.post(
        "floatingips", {"floatingip": {"floating_network_id": public["id"], "port_id": port["id"]}}
    )
    assert stolen.status == 404
    internal = await net_alice.post(
        "floatingips", {"floatingip": {"floating_network_id": private["id"]}}
    )
    assert internal.status == 400
    listed = (await net_alice.get(f"floatingips?port_id={port['id']}")).body["floatingips"]
    assert [f["id"] for f in listed] == [fip["id"]]
    assert (await net_alice.delete(f"ports/{port['id']}")).status == 204
    loose = (await net_alice.get(f"floatingips/{fip['id']}")).body["floatingip"]
    assert loose["port_id"] is None and loose["fixed_ip_address"] is None
    allocate = {"floatingip": {"floating_network_id": public["id"]}}
    many = [await net_alice.post("floatingips", allocate) for _ in range(5)]
    assert [r.status for r in many] == [201, 201, 201, 201, 409]
    assert (await net_alice.delete(f"floatingips/{fip['id']}")).status == 204
    assert (await net_alice.get(f"floatingips/{fip['id']}")).status == 404


async def test_an_external_network_goes_with_its_unused_floating_ips(
    net_admin: Neutron, net_alice: Neutron
) -> None:
    public = await net_admin.create("network", name="ext", **{"router:external": True})
    subnet = await net_admin.create(
        "subnet", network_id=public["id"], cidr="198.51.100.0/29", ip_version=4, enable_dhcp=False
    )
    unused = await net_alice.create("floatingip", floating_network_id=public["id"])
    private = await net_alice.create("network")
    await net_alice.create("subnet", network_id=private["id"], cidr="10.0.0.0/24", ip_version=4)
    port = await net_alice.create("port", network_id=private["id"])
    used = await net_alice.create(
        "floatingip", floating_network_id=public["id"], port_id=port["id"]
    )
    # a floating IP a port uses keeps its network (and nothing is deleted)
    assert (await net_admin.delete(f"networks/{public['id']}")).status == 409
    assert (await net_alice.get(f"floatingips/{unused['id']}")).status == 200
    assert (await net_alice.delete(f"floatingips/{used['id']}")).status == 204
    assert (await net_admin.delete(f"networks/{public['id']}")).status == 204
    assert (await net_alice.get(f"floatingips/{unused['id']}")).status == 404
    assert (await net_admin.get(f"subnets/{subnet['id']}")).status == 404
