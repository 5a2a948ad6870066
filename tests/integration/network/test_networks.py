"""Networks and subnets through /network/v2.0: shapes, filters, fields, pagination,
project scoping, shared and external networks, CIDR overlap rules."""

from tests.integration.identity.conftest import Person
from tests.integration.network.conftest import Neutron


async def test_network_and_subnet_lifecycle(net_alice: Neutron, alice: Person) -> None:
    network = await net_alice.create("network", name="web", description="front")
    assert network["status"] == "ACTIVE" and network["subnets"] == []
    assert network["project_id"] == alice.project_id == network["tenant_id"]
    assert network["shared"] is False and network["router:external"] is False
    assert network["admin_state_up"] is True and network["mtu"] == 1500
    subnet = await net_alice.create(
        "subnet",
        network_id=network["id"],
        cidr="10.0.0.0/24",
        ip_version=4,
        dns_nameservers=["10.0.0.53"],
        host_routes=[{"destination": "10.9.0.0/16", "nexthop": "10.0.0.9"}],
    )
    assert subnet["gateway_ip"] == "10.0.0.1"
    assert subnet["allocation_pools"] == [{"start": "10.0.0.2", "end": "10.0.0.254"}]
    assert subnet["enable_dhcp"] is True and subnet["ip_version"] == 4
    shown = (await net_alice.get(f"networks/{network['id']}")).body["network"]
    assert shown["subnets"] == [subnet["id"]]
    renamed = await net_alice.put(f"networks/{network['id']}", {"network": {"name": "web2"}})
    assert renamed.status == 200 and renamed.body["network"]["name"] == "web2"
    assert renamed.body["network"]["revision_number"] == 2
    changed = await net_alice.put(
        f"subnets/{subnet['id']}",
        {"subnet": {"gateway_ip": None, "dns_nameservers": [], "enable_dhcp": False}},
    )
    assert changed.status == 200, changed.body
    assert changed.body["subnet"]["gateway_ip"] is None
    assert changed.body["subnet"]["enable_dhcp"] is False
    assert (await net_alice.delete(f"networks/{network['id']}")).status == 204
    assert (await net_alice.get(f"subnets/{subnet['id']}")).status == 404
    missing = await net_alice.get(f"networks/{network['id']}")
    assert missing.status == 404 and missing.body["NeutronError"]["type"] == "HTTPNotFound"


async def test_filters_fields_sorting_and_pages(net_alice: Neutron) -> None:
    ids = [(await net_alice.create("network", name=f"n{i}"))["id"] for i in range(5)]
    named = (await net_alice.get("networks?name=n3")).body["networks"]
    assert [n["id"] for n in named] == [ids[3]]
    either = (await net_alice.get("networks?name=n1&name=n2")).body["networks"]
    assert sorted(n["name"] for n in either) == ["n1", "n2"]
    cut = (await net_alice.get("networks?fields=id&fields=name&name=n0")).body["networks"]
    assert cut == [{"id": ids[0], "name": "n0"}]
    down = (await net_alice.get("networks?sort_key=name&sort_dir=desc")).body["networks"]
    assert [n["name"] for n in down] == ["n4", "n3", "n2", "n1", "n0"]
    first = (await net_alice.get("networks?sort_key=name&sort_dir=asc&limit=2")).body
    assert [n["name"] for n in first["networks"]] == ["n0", "n1"]
    assert [link["rel"] for link in first["networks_links"]] == ["next"]
    after = (
        await net_alice.get(f"networks?sort_key=name&sort_dir=asc&limit=2&marker={ids[1]}")
    ).body
    assert [n["name"] for n in after["networks"]] == ["n2", "n3"]
    assert (await net_alice.get("networks?admin_state_up=false")).body["networks"] == []
    one = await net_alice.get(f"networks/{ids[0]}?fields=name")
    assert one.body == {"network": {"name": "n0"}}
    assert (await net_alice.get("networks?limit=x")).status == 400


async def test_projects_see_their_own_shared_and_external_networks(
    net_alice: Neutron, net_bob: Neutron, net_admin: Neutron, net_rita: Neutron
) -> None:
    private = await net_alice.create("network", name="private")
    forbidden = await net_alice.post("networks", {"network": {"name": "x", "shared": True}})
    assert forbidden.status == 403
    external = await net_alice.post("networks", {"network": {"router:external": True}})
    assert external.status == 403
    shared = await net_admin.create("network", name="shared", shared=True)
    public = await net_admin.create("network", name="public", **{"router:external": True})
    seen_by_bob = {n["name"] for n in (await net_bob.get("networks")).body["networks"]}
    assert seen_by_bob == {"shared", "public"}
    assert (await net_bob.get(f"networks/{private['id']}")).status == 404
    assert (await net_bob.delete(f"networks/{private['id']}")).status == 404
    renamed = await net_bob.put(f"networks/{shared['id']}", {"network": {"name": "mine"}})
    assert renamed.status == 403
    assert (await net_bob.get(f"networks/{public['id']}")).status == 200
    assert (await net_rita.get(f"networks/{private['id']}")).status == 200
    assert (await net_rita.post("networks", {"network": {"name": "r"}})).status == 403
    every = {n["name"] for n in (await net_admin.get("networks")).body["networks"]}
    assert every >= {"private", "shared", "public"}


async def test_cidrs_overlap_across_networks_but_not_within_one(
    net_alice: Neutron, net_bob: Neutron
) -> None:
    mine = await net_alice.create("network")
    theirs = await net_bob.create("network")
    await net_alice.create("subnet", network_id=mine["id"], cidr="10.1.0.0/24", ip_version=4)
    await net_bob.create("subnet", network_id=theirs["id"], cidr="10.1.0.0/24", ip_version=4)
    clash = await net_alice.post(
        "subnets", {"subnet": {"network_id": mine["id"], "cidr": "10.1.0.128/25", "ip_version": 4}}
    )
    assert (
        clash.status == 400
        and "overlaps with another subnet" in clash.body["NeutronError"]["message"]
    )
    other = await net_alice.create("network")
    await net_alice.create("subnet", network_id=other["id"], cidr="10.1.0.0/24", ip_version=4)
    on_theirs = await net_alice.post(
        "subnets", {"subnet": {"network_id": theirs["id"], "cidr": "10.2.0.0/24", "ip_version": 4}}
    )
    assert on_theirs.status == 404


async def test_bad_subnets_are_refused(net_alice: Neutron) -> None:
    network = await net_alice.create("network")

    async def status(**attributes: object) -> int:
        body = {"subnet": {"network_id": network["id"], "ip_version": 4} | attributes}
        return (await net_alice.post("subnets", body)).status

    assert await status(cidr="10.0.0.1/24") == 400
    assert await status(cidr="bogus") == 400
    assert await status(cidr="10.0.0.0/24", gateway_ip="10.9.9.9") == 400
    assert await status(cidr="10.0.0.0/24", ip_version=6) == 400
    pools = [{"start": "10.0.0.1", "end": "10.0.0.20"}]
    assert await status(cidr="10.0.0.0/24", allocation_pools=pools) == 400  # holds the gateway
    assert await status(cidr="10.0.0.0/24", color="red") == 400
    assert await status() == 400


async def test_bulk_create(net_alice: Neutron) -> None:
    reply = await net_alice.post("networks", {"networks": [{"name": "a"}, {"name": "b"}]})
    assert reply.status == 201
    assert [n["name"] for n in reply.body["networks"]] == ["a", "b"]


async def test_version_resources_and_extensions(net_alice: Neutron) -> None:
    resources = (await net_alice.get("")).body["resources"]
    assert {"network", "subnet", "port"} <= {r["name"] for r in resources}
    aliases = {e["alias"] for e in (await net_alice.get("extensions")).body["extensions"]}
    assert {"security-group", "quotas", "external-net", "port-security"} <= aliases
    assert (await net_alice.get("extensions/quotas")).status == 200
    assert (await net_alice.get("extensions/router")).status == 200
    assert (await net_alice.get("extensions/subnet-external-network")).status == 200
    assert (await net_alice.get("extensions/dvr")).status == 404
