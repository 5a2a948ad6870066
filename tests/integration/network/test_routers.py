"""Routers: create with a gateway, interfaces on subnets (the gateway address) and on
ports, extra routes, the errors Neutron answers, the authorisation matrix, the quota,
floating IPs' router_id, and the read model rebuilt from the log."""

import asyncio
from typing import Any

from events.postgres import PostgresEventStore
from projections.runner import rebuild
from service.network.projection import NetworkProjection
from tests.integration.network.conftest import Neutron
from tests.integration.network.test_rebuild import _rows


async def _public(net_admin: Neutron) -> dict[str, Any]:
    public = await net_admin.create("network", name="public", **{"router:external": True})
    await net_admin.create(
        "subnet", network_id=public["id"], cidr="203.0.113.0/28", ip_version=4, enable_dhcp=False
    )
    return public


async def _subnet(neutron: Neutron, cidr: str, **extra: Any) -> dict[str, Any]:
    network = await neutron.create("network")
    return await neutron.create(
        "subnet", network_id=network["id"], cidr=cidr, ip_version=4, **extra
    )


async def test_router_life(net_admin: Neutron, net_alice: Neutron) -> None:
    public = await _public(net_admin)
    router = await net_alice.create(
        "router", name="r", external_gateway_info={"network_id": public["id"]}
    )
    info = router["external_gateway_info"]
    assert info["network_id"] == public["id"] and info["enable_snat"] is True
    [gateway_ip] = info["external_fixed_ips"]
    assert gateway_ip["ip_address"].startswith("203.0.113.")
    assert router["distributed"] is False and router["ha"] is False
    assert router["status"] == "ACTIVE" and router["routes"] == []
    one, two = await _subnet(net_alice, "10.1.0.0/24"), await _subnet(net_alice, "10.2.0.0/24")
    added = await net_alice.put(
        f"routers/{router['id']}/add_router_interface", {"subnet_id": one["id"]}
    )
    assert added.status == 200, added.body
    assert added.body["subnet_id"] == one["id"] and added.body["id"] == router["id"]
    port = (await net_alice.get(f"ports/{added.body['port_id']}")).body["port"]
    assert port["device_owner"] == "network:router_interface"
    assert port["device_id"] == router["id"]
    assert port["fixed_ips"] == [{"subnet_id": one["id"], "ip_address": "10.1.0.1"}]
    given = await net_alice.create("port", network_id=two["network_id"])
    by_port = await net_alice.put(
        f"routers/{router['id']}/add_router_interface", {"port_id": given["id"]}
    )
    assert by_port.status == 200 and by_port.body["subnet_id"] == two["id"]
    listed = (await net_alice.get(f"ports?device_id={router['id']}")).body["ports"]
    assert {p["id"] for p in listed} == {port["id"], given["id"]}
    routes = [{"destination": "192.168.7.0/24", "nexthop": "10.1.0.9"}]
    updated = await net_alice.put(f"routers/{router['id']}", {"router": {"routes": routes}})
    assert updated.status == 200 and updated.body["router"]["routes"] == routes
    needed = await net_alice.put(
        f"routers/{router['id']}/remove_router_interface", {"subnet_id": one["id"]}
    )
    assert needed.status == 409
    cleared = await net_alice.put(f"routers/{router['id']}", {"router": {"routes": None}})
    assert cleared.body["router"]["routes"] == []
    assert (await net_alice.delete(f"routers/{router['id']}")).status == 409
    assert (await net_alice.delete(f"ports/{port['id']}")).status == 409
    assert (await net_alice.delete(f"subnets/{one['id']}")).status == 409
    regate = {"subnet": {"gateway_ip": "10.1.0.254"}}
    assert (await net_alice.put(f"subnets/{one['id']}", regate)).status == 409
    assert (await net_alice.put(f"subnets/{one['id']}", {"subnet": {"name": "x"}})).status == 200
    assert (await net_alice.delete(f"networks/{one['network_id']}")).status == 409
    for body in ({"subnet_id": one["id"]}, {"port_id": given["id"]}):
        removed = await net_alice.put(f"routers/{router['id']}/remove_router_interface", body)
        assert removed.status == 200, removed.body
    assert (await net_alice.get(f"ports/{port['id']}")).status == 404
    again = await net_alice.put(
        f"routers/{router['id']}/remove_router_interface", {"subnet_id": one["id"]}
    )
    assert again.status == 404
    unset = await net_alice.put(
        f"routers/{router['id']}", {"router": {"external_gateway_info": {}}}
    )
    assert unset.body["router"]["external_gateway_info"] is None
    assert (await net_admin.get("ports?device_owner=network:router_gateway")).body["ports"] == []
    assert (await net_alice.delete(f"routers/{router['id']}")).status == 204
    assert (await net_alice.get(f"routers/{router['id']}")).status == 404
    assert (await net_alice.delete(f"subnets/{one['id']}")).status == 204


async def test_router_errors(net_admin: Neutron, net_alice: Neutron) -> None:
    public = await _public(net_admin)
    router = await net_alice.create("router", name="r")
    path = f"routers/{router['id']}"
    one = await _subnet(net_alice, "10.1.0.0/24")
    overlapping = await _subnet(net_alice, "10.1.0.0/16")
    no_gateway = await _subnet(net_alice, "10.3.0.0/24", gateway_ip=None)
    private = one["network_id"]
    assert (
        await net_alice.put(f"{path}/add_router_interface", {"subnet_id": one["id"]})
    ).status == 200
    cases = [
        ({"subnet_id": one["id"]}, 400),
        ({"subnet_id": overlapping["id"]}, 400),
        ({"subnet_id": no_gateway["id"]}, 400),
        ({"subnet_id": "nope"}, 404),
        ({"port_id": "nope"}, 404),
        ({}, 400),
        ({"subnet_id": one["id"], "port_id": "x"}, 400),
    ]
    for body, status in cases:
        reply = await net_alice.put(f"{path}/add_router_interface", body)
        assert reply.status == status, (body, reply.body)
        assert "NeutronError" in reply.body, reply.body
    for info, status in (({"network_id": private}, 400), ({"network_id": "nope"}, 404)):
        reply = await net_alice.put(path, {"router": {"external_gateway_info": info}})
        assert reply.status == status, reply.body
    snat = {"network_id": public["id"], "enable_snat": False}
    assert (await net_alice.put(path, {"router": {"external_gateway_info": snat}})).status == 403
    as_admin = await net_admin.put(path, {"router": {"external_gateway_info": snat}})
    assert as_admin.body["router"]["external_gateway_info"]["enable_snat"] is False
    fixed = {"network_id": public["id"], "external_fixed_ips": [{"ip_address": "203.0.113.9"}]}
    assert (await net_alice.put(path, {"router": {"external_gateway_info": fixed}})).status == 403
    moved = await net_admin.put(path, {"router": {"external_gateway_info": fixed}})
    assert moved.status == 200, moved.body
    [address] = moved.body["router"]["external_gateway_info"]["external_fixed_ips"]
    assert address["ip_address"] == "203.0.113.9"
    gateways = (await net_admin.get("ports?device_owner=network:router_gateway")).body["ports"]
    assert [p["fixed_ips"][0]["ip_address"] for p in gateways] == ["203.0.113.9"]
    again = await net_admin.put(path, {"router": {"external_gateway_info": fixed}})
    assert again.status == 200, again.body  # its own address is not taken from it
    same = (await net_admin.get("ports?device_owner=network:router_gateway")).body["ports"]
    assert [p["id"] for p in same] == [p["id"] for p in gateways]  # updated in place
    far = [{"destination": "192.168.0.0/24", "nexthop": "10.9.9.9"}]
    assert (await net_alice.put(path, {"router": {"routes": far}})).status == 400
    bad = [{"destination": "not-a-cidr", "nexthop": "10.1.0.9"}]
    assert (await net_alice.put(path, {"router": {"routes": bad}})).status == 400
    assert (await net_alice.post("routers", {"router": {"distributed": True}})).status == 403
    assert (await net_alice.get("routers/nope")).status == 404
    assert (await net_alice.put("routers/nope", {"router": {"name": "x"}})).status == 404
    assert (await net_alice.delete("routers/nope")).status == 404
    used = await net_alice.create("port", network_id=overlapping["network_id"], device_id="vm")
    reply = await net_alice.put(f"{path}/add_router_interface", {"port_id": used["id"]})
    assert reply.status == 409


async def test_racing_interfaces_on_one_router_take_turns(net_alice: Neutron) -> None:
    router = await net_alice.create("router")
    subnets = [await _subnet(net_alice, cidr) for cidr in ("10.8.0.0/24", "10.8.0.0/25")]
    replies = await asyncio.gather(
        *(
            net_alice.put(f"routers/{router['id']}/add_router_interface", {"subnet_id": s["id"]})
            for s in subnets
        )
    )
    assert sorted(r.status for r in replies)[0] == 200
    assert sorted(r.status for r in replies)[1] in (400, 409)
    assert len((await net_alice.get(f"ports?device_id={router['id']}")).body["ports"]) == 1


async def test_router_authorisation(
    net_admin: Neutron, net_alice: Neutron, net_rita: Neutron, net_bob: Neutron
) -> None:
    router = await net_alice.create("router", name="alice's")
    path = f"routers/{router['id']}"
    theirs = await _subnet(net_bob, "10.5.0.0/24")
    their_port = await net_bob.create("port", network_id=theirs["network_id"])
    ours = await _subnet(net_alice, "10.6.0.0/24")
    assert (await net_bob.get(path)).status == 404
    assert [r["id"] for r in (await net_bob.get("routers")).body["routers"]] == []
    assert [r["id"] for r in (await net_rita.get("routers")).body["routers"]] == [router["id"]]
    assert (await net_bob.put(path, {"router": {"name": "mine"}})).status == 404
    assert (await net_bob.delete(path)).status == 404
    mine = await net_bob.put(f"{path}/add_router_interface", {"subnet_id": theirs["id"]})
    assert mine.status == 404
    for body in ({"subnet_id": theirs["id"]}, {"port_id": their_port["id"]}):
        assert (await net_alice.put(f"{path}/add_router_interface", body)).status == 404
    attached = await net_alice.put(f"{path}/add_router_interface", {"subnet_id": ours["id"]})
    assert attached.status == 200
    removed = await net_bob.put(f"{path}/remove_router_interface", {"subnet_id": ours["id"]})
    assert removed.status == 404
    by_admin = await net_admin.put(f"{path}/add_router_interface", {"subnet_id": theirs["id"]})
    assert by_admin.status == 200, by_admin.body
    assert router["id"] in [r["id"] for r in (await net_admin.get("routers")).body["routers"]]


async def test_router_quota(net_admin: Neutron, net_alice: Neutron, alice: Any) -> None:
    limited = await net_admin.put(f"quotas/{alice.project_id}", {"quota": {"router": 2}})
    assert limited.status == 200
    replies = [await net_alice.post("routers", {"router": {"name": f"r{i}"}}) for i in range(3)]
    assert [r.status for r in replies] == [201, 201, 409]
    details = (await net_alice.get(f"quotas/{alice.project_id}/details")).body["quota"]
    assert details["router"] == {"limit": 2, "used": 2, "reserved": 0}
    assert (await net_alice.delete(f"routers/{replies[0].body['router']['id']}")).status == 204
    assert (await net_alice.post("routers", {"router": {"name": "again"}})).status == 201


async def test_floating_ip_router_and_rebuild(
    net_admin: Neutron, net_alice: Neutron, store: PostgresEventStore
) -> None:
    public = await _public(net_admin)
    inside = await _subnet(net_alice, "10.7.0.0/24")
    port = await net_alice.create("port", network_id=inside["network_id"])
    router = await net_alice.create("router", external_gateway_info={"network_id": public["id"]})
    await net_alice.put(f"routers/{router['id']}/add_router_interface", {"subnet_id": inside["id"]})
    fip = await net_alice.create("floatingip", floating_network_id=public["id"], port_id=port["id"])
    assert fip["router_id"] == router["id"]
    shown = (await net_alice.get(f"floatingips/{fip['id']}")).body["floatingip"]
    assert shown["router_id"] == router["id"]
    await net_alice.put(f"routers/{router['id']}", {"router": {"name": "renamed"}})
    gone = await net_alice.create("router", name="gone")
    await net_alice.delete(f"routers/{gone['id']}")
    live = await _rows(store)
    assert len(live["rm_routers"]) == 1
    await rebuild(store, NetworkProjection(), inline=True)
    assert await _rows(store) == live
