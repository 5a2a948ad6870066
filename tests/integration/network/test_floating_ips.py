"""Floating IPs on an external network: allocate, associate with a port through a router
that joins the port's subnet to the network (404 without one, as Neutron), disassociate,
release; addresses exact and scoped to their project; a router keeps the interface and
gateway its floating IPs use (409), in the API and in the log's own checks."""

from typing import Any

import pytest

from events.postgres import PostgresEventStore
from events.store import StreamAppend
from service.errors import Conflict
from service.network import events as ev
from service.network.reachability import (
    RouterExternalGatewayInUseByFloatingIp,
    RouterInterfaceInUseByFloatingIP,
)
from tests.integration.identity.conftest import Person
from tests.integration.network.conftest import Neutron, router_between


async def _external(net_admin: Neutron, name: str, cidr: str) -> dict[str, Any]:
    """An external network with one subnet, made by an admin."""
    network = await net_admin.create("network", name=name, **{"router:external": True})
    await net_admin.create(
        "subnet", network_id=network["id"], cidr=cidr, ip_version=4, enable_dhcp=False
    )
    return network


async def _private(neutron: Neutron, cidr: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A network of the caller's with one subnet, and a port on it."""
    network = await neutron.create("network")
    subnet = await neutron.create("subnet", network_id=network["id"], cidr=cidr, ip_version=4)
    return subnet, await neutron.create("port", network_id=network["id"])


def _fault(kind: str, message: str) -> dict[str, Any]:
    return {"NeutronError": {"type": kind, "message": message, "detail": ""}}


async def test_floating_ip_flow(
    net_admin: Neutron, net_alice: Neutron, net_bob: Neutron, alice: Person
) -> None:
    public = await _external(net_admin, "public", "203.0.113.0/29")
    subnet, port = await _private(net_alice, "10.0.0.0/24")
    router = await router_between(net_alice, public["id"], subnet["id"])
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
    assert linked.body["floatingip"]["router_id"] == router["id"]
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
        "floatingips", {"floatingip": {"floating_network_id": subnet["network_id"]}}
    )
    assert internal.status == 400
    listed = (await net_alice.get(f"floatingips?port_id={port['id']}")).body["floatingips"]
    assert [f["id"] for f in listed] == [fip["id"]]
    assert (await net_alice.delete(f"ports/{port['id']}")).status == 204
    loose = (await net_alice.get(f"floatingips/{fip['id']}")).body["floatingip"]
    assert loose["port_id"] is None and loose["fixed_ip_address"] is None
    assert loose["router_id"] is None
    # The /29 has five addresses to give: the router's gateway holds one, `fip` another.
    allocate = {"floatingip": {"floating_network_id": public["id"]}}
    many = [await net_alice.post("floatingips", allocate) for _ in range(4)]
    assert [r.status for r in many] == [201, 201, 201, 409]
    assert (await net_alice.delete(f"floatingips/{fip['id']}")).status == 204
    assert (await net_alice.get(f"floatingips/{fip['id']}")).status == 404


async def test_an_external_network_goes_with_its_unused_floating_ips(
    net_admin: Neutron, net_alice: Neutron
) -> None:
    public = await _external(net_admin, "ext", "198.51.100.0/29")
    [subnet] = (await net_admin.get(f"subnets?network_id={public['id']}")).body["subnets"]
    unused = await net_alice.create("floatingip", floating_network_id=public["id"])
    inside, port = await _private(net_alice, "10.0.0.0/24")
    router = await router_between(net_alice, public["id"], inside["id"])
    used = await net_alice.create(
        "floatingip", floating_network_id=public["id"], port_id=port["id"]
    )
    # a floating IP a port uses keeps its network (and nothing is deleted)
    assert (await net_admin.delete(f"networks/{public['id']}")).status == 409
    assert (await net_alice.get(f"floatingips/{unused['id']}")).status == 200
    assert (await net_alice.delete(f"floatingips/{used['id']}")).status == 204
    path = f"routers/{router['id']}"
    assert (
        await net_alice.put(f"{path}/remove_router_interface", {"subnet_id": inside["id"]})
    ).status == 200
    assert (await net_alice.delete(path)).status == 204
    assert (await net_admin.delete(f"networks/{public['id']}")).status == 204
    assert (await net_alice.get(f"floatingips/{unused['id']}")).status == 404
    assert (await net_admin.get(f"subnets/{subnet['id']}")).status == 404


async def test_associating_needs_a_router_from_the_subnet_to_the_network(
    net_admin: Neutron, net_alice: Neutron
) -> None:
    public = await _external(net_admin, "public", "203.0.113.0/28")
    other = await _external(net_admin, "other", "198.51.100.0/28")
    subnet, port = await _private(net_alice, "10.0.0.0/24")
    fip = await net_alice.create("floatingip", floating_network_id=public["id"])
    unreachable = _fault(
        "ExternalGatewayForFloatingIPNotFound",
        f"External network {public['id']} is not reachable from subnet {subnet['id']}.  "
        f"Therefore, cannot associate Port {port['id']} with a Floating IP.",
    )

    async def refused() -> None:
        link = {"floatingip": {"port_id": port["id"]}}
        updated = await net_alice.put(f"floatingips/{fip['id']}", link)
        assert (updated.status, updated.body) == (404, unreachable)
        made = await net_alice.post(
            "floatingips",
            {"floatingip": {"floating_network_id": public["id"], "port_id": port["id"]}},
        )
        assert (made.status, made.body) == (404, unreachable)

    await refused()  # no router at all
    side = await net_alice.create(
        "port",
        network_id=subnet["network_id"],
        fixed_ips=[{"subnet_id": subnet["id"], "ip_address": "10.0.0.5"}],
    )
    older = await net_alice.create("router", name="older")
    path = f"routers/{older['id']}"
    by_port = await net_alice.put(f"{path}/add_router_interface", {"port_id": side["id"]})
    assert by_port.status == 200
    await refused()  # an interface on the subnet but no gateway (Tempest's ext_net_unreachable)
    away = {"router": {"external_gateway_info": {"network_id": other["id"]}}}
    assert (await net_alice.put(path, away)).status == 200
    await refused()  # a gateway on another external network
    elsewhere, _ = await _private(net_alice, "10.9.0.0/24")
    await router_between(net_alice, public["id"], elsewhere["id"])
    await refused()  # a router to the network, but from another subnet
    edge = await router_between(net_alice, public["id"], subnet["id"])
    out = {"router": {"external_gateway_info": {"network_id": public["id"]}}}
    assert (await net_alice.put(path, out)).status == 200
    # Both routers join them now: as in Neutron, the one on the subnet's gateway address.
    linked = await net_alice.put(
        f"floatingips/{fip['id']}", {"floatingip": {"port_id": port["id"]}}
    )
    assert linked.status == 200, linked.body
    assert linked.body["floatingip"]["router_id"] == edge["id"]
    listed = (await net_alice.get("floatingips")).body["floatingips"]
    assert [(f["id"], f["router_id"]) for f in listed] == [(fip["id"], edge["id"])]


async def test_a_router_keeps_what_its_floating_ips_use(
    net_admin: Neutron, net_alice: Neutron
) -> None:
    public = await _external(net_admin, "public", "203.0.113.0/28")
    other = await _external(net_admin, "other", "198.51.100.0/28")
    subnet, port = await _private(net_alice, "10.0.0.0/24")
    router = await router_between(net_alice, public["id"], subnet["id"])
    fip = await net_alice.create("floatingip", floating_network_id=public["id"], port_id=port["id"])
    assert fip["router_id"] == router["id"] and fip["status"] == "ACTIVE"
    path = f"routers/{router['id']}"
    interface = {"subnet_id": subnet["id"]}
    removed = await net_alice.put(f"{path}/remove_router_interface", interface)
    assert (removed.status, removed.body) == (
        409,
        _fault(
            "RouterInterfaceInUseByFloatingIP",
            f"Router interface for subnet {subnet['id']} on router {router['id']} cannot be "
            "deleted, as it is required by one or more floating IPs.",
        ),
    )
    in_use = _fault(
        "RouterExternalGatewayInUseByFloatingIp",
        f"Gateway cannot be updated for router {router['id']}, since a gateway to external "
        f"network {public['id']} is required by one or more floating IPs.",
    )
    for info in ({}, None, {"network_id": other["id"]}):
        changed = await net_alice.put(path, {"router": {"external_gateway_info": info}})
        assert (changed.status, changed.body) == (409, in_use), info
    assert (await net_alice.delete(path)).status == 409
    kept = (await net_alice.get(path)).body["router"]
    assert kept["external_gateway_info"]["network_id"] == public["id"]
    assert len((await net_alice.get(f"ports?device_id={router['id']}")).body["ports"]) == 1
    # What the floating IP does not need can change.
    down = await net_alice.put(path, {"router": {"name": "edge", "admin_state_up": False}})
    assert down.status == 200
    # Disassociated, it needs nothing of the router.
    loose = await net_alice.put(f"floatingips/{fip['id']}", {"floatingip": {"port_id": None}})
    assert loose.body["floatingip"]["router_id"] is None
    assert (await net_alice.put(f"{path}/remove_router_interface", interface)).status == 200
    cleared = await net_alice.put(path, {"router": {"external_gateway_info": {}}})
    assert cleared.status == 200
    assert (await net_alice.delete(path)).status == 204


async def test_the_log_refuses_what_would_leave_a_floating_ip_without_its_router(
    net_admin: Neutron, net_alice: Neutron, store: PostgresEventStore
) -> None:
    """The projection checks the rule inside each append (so that racing requests cannot
    break it): an association through a router that does not join the fixed address's
    subnet to the floating network, and the removal of an interface a floating IP uses."""
    public = await _external(net_admin, "public", "203.0.113.0/28")
    subnet, port = await _private(net_alice, "10.0.0.0/24")
    router = await router_between(net_alice, public["id"], subnet["id"])
    _, other_port = await _private(net_alice, "10.9.0.0/24")
    fip = await net_alice.create("floatingip", floating_network_id=public["id"])
    fixed = other_port["fixed_ips"][0]["ip_address"]
    astray = ev.FloatingIpAssociated(
        floating_ip_id=fip["id"],
        port_id=other_port["id"],
        fixed_ip_address=fixed,
        router_id=router["id"],
    )
    with pytest.raises(Conflict, match=f"Router {router['id']} changed"):
        await store.append_streams([StreamAppend(f"floatingip-{fip['id']}", [astray])])
    linked = await net_alice.put(
        f"floatingips/{fip['id']}", {"floatingip": {"port_id": port["id"]}}
    )
    assert linked.body["floatingip"]["router_id"] == router["id"]
    [interface] = (await net_alice.get(f"ports?device_id={router['id']}")).body["ports"]
    removed = ev.RouterInterfaceRemoved(
        router_id=router["id"], port_id=interface["id"], subnet_id=subnet["id"]
    )
    with pytest.raises(RouterInterfaceInUseByFloatingIP):
        await store.append_streams([StreamAppend(f"router-{router['id']}", [removed])])
    unset = ev.RouterGatewaySet(router_id=router["id"], network_id=None)
    with pytest.raises(RouterExternalGatewayInUseByFloatingIp):
        await store.append_streams([StreamAppend(f"router-{router['id']}", [unset])])
    assert (await net_alice.get(f"floatingips/{fip['id']}")).body["floatingip"] == linked.body[
        "floatingip"
    ]
