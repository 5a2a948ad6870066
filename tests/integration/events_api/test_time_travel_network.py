"""History and time travel of network resources: after changes through the network API,
`?at=` now shows exactly what Neutron's GET shows, `?at=` a position before the changes
shows the old values, a deleted resource is gone now but there before, and another
project sees none of it."""

from typing import Any

from events.postgres import PostgresEventStore
from tests.integration.events_api.conftest import Reader
from tests.integration.events_api.test_time_travel_types import Http, travel
from tests.integration.identity.conftest import Client, Person

API = "/network/v2.0"


async def _made(http: Http, kind: str, **attributes: Any) -> dict[str, Any]:
    key = kind.replace("-", "_").removesuffix("s")
    status, body, _ = await http.call("POST", f"{API}/{kind}", {key: attributes})
    assert status == 201, body
    made: dict[str, Any] = body[key]
    return made


async def _changed(http: Http, path: str, key: str, **attributes: Any) -> None:
    status, body, _ = await http.call("PUT", f"{API}/{path}", {key: attributes})
    assert status == 200, body


async def _live(http: Http, path: str) -> Any:
    status, body, _ = await http.call("GET", f"{API}/{path}")
    assert status == 200, body
    return body


async def test_networks_subnets_ports_groups_and_floating_ips(
    client: Client, store: PostgresEventStore, admin_token: str, alice: Person, bob: Person
) -> None:
    http, reader = Http(client, alice.token), Reader(client, alice.token)
    net = await _made(http, "networks", name="lan")
    subnet = await _made(http, "subnets", network_id=net["id"], cidr="10.1.0.0/24", ip_version=4)
    port = await _made(http, "ports", network_id=net["id"], name="p1")
    group = await _made(http, "security-groups", name="web")
    ssh = await _made(
        http,
        "security-group-rules",
        security_group_id=group["id"],
        direction="ingress",
        protocol="tcp",
        port_range_min=22,
        port_range_max=22,
    )
    admin = Http(client, admin_token)
    public = await _made(admin, "networks", name="public", **{"router:external": True})
    await _made(admin, "subnets", network_id=public["id"], cidr="203.0.113.0/24", ip_version=4)
    fip = await _made(http, "floatingips", floating_network_id=public["id"])
    before = await store.head_position()

    await _changed(http, f"networks/{net['id']}", "network", name="lan2")
    second = await _made(http, "subnets", network_id=net["id"], cidr="10.2.0.0/24", ip_version=4)
    await _changed(
        http, f"subnets/{subnet['id']}", "subnet", name="first", dns_nameservers=["10.1.0.53"]
    )
    fixed = [{"subnet_id": second["id"], "ip_address": "10.2.0.9"}]
    await _changed(http, f"ports/{port['id']}", "port", name="p2", fixed_ips=fixed)
    await _made(
        http,
        "security-group-rules",
        security_group_id=group["id"],
        direction="ingress",
        protocol="icmp",
    )
    status, _, _ = await http.call("DELETE", f"{API}/security-group-rules/{ssh['id']}")
    assert status == 204
    router = await _made(http, "routers", external_gateway_info={"network_id": public["id"]})
    interface = {"subnet_id": second["id"]}
    status, body, _ = await http.call(
        "PUT", f"{API}/routers/{router['id']}/add_router_interface", interface
    )
    assert status == 200, body
    await _changed(http, f"floatingips/{fip['id']}", "floatingip", port_id=port["id"])

    for kind, path in (
        ("network", f"networks/{net['id']}"),
        ("subnet", f"subnets/{subnet['id']}"),
        ("port", f"ports/{port['id']}"),
        ("secgroup", f"security-groups/{group['id']}"),
        ("floatingip", f"floatingips/{fip['id']}"),
    ):
        assert await travel(reader, kind, path.split("/")[1]) == await _live(http, path), kind

    then = (await travel(reader, "network", net["id"], before))["network"]
    assert (then["name"], then["subnets"]) == ("lan", [subnet["id"]])
    now = (await travel(reader, "network", net["id"]))["network"]
    assert now["subnets"] == [subnet["id"], second["id"]]
    then = (await travel(reader, "subnet", subnet["id"], before))["subnet"]
    assert (then["name"], then["dns_nameservers"]) == ("", [])
    then = (await travel(reader, "port", port["id"], before))["port"]
    assert (then["name"], then["fixed_ips"]) == ("p1", port["fixed_ips"])
    assert "binding:host_id" not in then
    rules = (await travel(reader, "secgroup", group["id"], before))["security_group"]
    assert ssh["id"] in {r["id"] for r in rules["security_group_rules"]}
    now_rules = (await travel(reader, "secgroup", group["id"]))["security_group"]
    assert ssh["id"] not in {r["id"] for r in now_rules["security_group_rules"]}
    then = (await travel(reader, "floatingip", fip["id"], before))["floatingip"]
    assert (then["port_id"], then["status"]) == (None, "DOWN")
    now = (await travel(reader, "floatingip", fip["id"]))["floatingip"]
    assert (now["fixed_ip_address"], now["router_id"]) == ("10.2.0.9", router["id"])

    status, body = await reader.get(f"resources/port/{port['id']}/history")
    assert status == 200, body
    assert [e["type"] for e in body["events"]] == ["PortCreated", "PortUpdated"]
    assert body["events"][0]["actor"]["user_id"] == alice.user_id
    status, _, _ = await http.call("DELETE", f"{API}/floatingips/{fip['id']}")
    assert status == 204
    status, _, _ = await http.call("DELETE", f"{API}/ports/{port['id']}")
    assert status == 204
    assert (await reader.get(f"resources/port/{port['id']}"))[0] == 404
    assert (await travel(reader, "port", port["id"], before))["port"]["name"] == "p1"
    assert (await reader.get(f"resources/floatingip/{fip['id']}"))[0] == 404
    others = Reader(client, bob.token)
    for kind, resource_id in (
        ("network", net["id"]),
        ("subnet", subnet["id"]),
        ("port", port["id"]),
        ("secgroup", group["id"]),
        ("floatingip", fip["id"]),
    ):
        assert (await others.get(f"resources/{kind}/{resource_id}"))[0] == 404, kind
        assert (await others.get(f"resources/{kind}/{resource_id}/history"))[0] == 404, kind


async def test_routers(
    client: Client, store: PostgresEventStore, admin_token: str, alice: Person, bob: Person
) -> None:
    http, reader = Http(client, alice.token), Reader(client, alice.token)
    admin = Http(client, admin_token)
    public = await _made(admin, "networks", name="public", **{"router:external": True})
    await _made(admin, "subnets", network_id=public["id"], cidr="203.0.113.0/24", ip_version=4)
    gateway = {"network_id": public["id"]}
    router = await _made(http, "routers", name="r", external_gateway_info=gateway)
    before = await store.head_position()
    path = f"routers/{router['id']}"
    await _changed(http, path, "router", name="r2", external_gateway_info={})
    assert await travel(reader, "router", router["id"]) == await _live(http, path)
    then = (await travel(reader, "router", router["id"], before))["router"]
    assert then["name"] == "r"
    assert then["external_gateway_info"] == router["external_gateway_info"]
    assert (await Reader(client, bob.token).get(f"resources/router/{router['id']}"))[0] == 404
