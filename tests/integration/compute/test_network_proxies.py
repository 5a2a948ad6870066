"""Nova's network proxies (up to 2.35): the networks a project sees in the network
service, as os-networks and os-tenant-networks show them."""

from tests.integration.compute.conftest import Nova


async def test_the_networks_a_project_sees(as_alice: Nova, as_bob: Nova) -> None:
    made = await as_alice.call(
        "POST", "networks", {"network": {"name": "alice-net"}}, prefix="/network/v2.0"
    )
    assert made.status == 201, made.body
    network_id = made.body["network"]["id"]
    listed = (await as_alice.get("os-networks")).body["networks"]
    assert [(n["id"], n["label"], n["cidr"]) for n in listed] == [(network_id, "alice-net", None)]
    shown = await as_alice.get(f"os-networks/{network_id}")
    assert shown.body["network"] == listed[0]
    tenant = (await as_alice.get("os-tenant-networks")).check(
        "tenant_networks.list_tenant_networks"
    )
    assert tenant["networks"] == [{"id": network_id, "label": "alice-net", "cidr": "None"}]
    one = await as_alice.get(f"os-tenant-networks/{network_id}")
    assert one.check("tenant_networks.get_tenant_network")["network"] == tenant["networks"][0]
    assert (await as_bob.get("os-networks")).body["networks"] == []
    assert (await as_bob.get(f"os-tenant-networks/{network_id}")).status == 404
    assert (await as_alice.at("2.36").get("os-networks")).status == 404
