"""The network read models rebuilt from the log are the live ones, row for row."""

from typing import Any

from events.postgres import PostgresEventStore
from projections.runner import rebuild
from service.network.projection import NetworkProjection
from tests.integration.network.conftest import Neutron, router_between


async def _rows(store: PostgresEventStore) -> dict[str, list[Any]]:
    tables = NetworkProjection.tables
    async with store.pool.acquire() as conn:
        return {
            t: [dict(r) for r in await conn.fetch(f"SELECT * FROM {t} ORDER BY 1, 2")]
            for t in tables
        }


async def test_rebuild_gives_the_live_rows(
    net_alice: Neutron, net_admin: Neutron, store: PostgresEventStore
) -> None:
    public = await net_admin.create("network", **{"router:external": True})
    await net_admin.create("subnet", network_id=public["id"], cidr="203.0.113.0/24", ip_version=4)
    network = await net_alice.create("network", name="n")
    subnet = await net_alice.create(
        "subnet", network_id=network["id"], cidr="10.0.0.0/24", ip_version=4
    )
    ports = [await net_alice.create("port", network_id=network["id"]) for _ in range(3)]
    await net_alice.put(
        f"ports/{ports[0]['id']}", {"port": {"fixed_ips": [{"ip_address": "10.0.0.200"}]}}
    )
    await net_alice.delete(f"ports/{ports[1]['id']}")
    await net_alice.put(f"subnets/{subnet['id']}", {"subnet": {"name": "renamed"}})
    await router_between(net_alice, public["id"], subnet["id"])
    await net_alice.create("floatingip", floating_network_id=public["id"], port_id=ports[2]["id"])
    gone = await net_alice.create("network", name="gone")
    await net_alice.delete(f"networks/{gone['id']}")
    live = await _rows(store)
    assert [f["router_id"] is not None for f in live["rm_floating_ips"]] == [True]
    # two ports, the router's interface and gateway, the floating IP
    assert len(live["rm_ip_allocations"]) == 5
    applied = await rebuild(store, NetworkProjection(), inline=True)
    assert applied > 0
    assert await _rows(store) == live
