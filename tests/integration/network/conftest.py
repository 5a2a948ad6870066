"""Network API fixtures: the compute fixtures (an in-process Kumo, a bootstrapped admin,
alice and rita in one project, bob in another) and `Neutron`, network calls as one
caller."""

from typing import Any

import pytest

from tests.integration.compute import conftest as compute
from tests.integration.compute.conftest import Reply
from tests.integration.compute.test_servers import wait_for
from tests.integration.identity.conftest import Client, Person

higher_microversions = compute.higher_microversions
settings = compute.settings
admin = compute.admin
client = compute.client
admin_token = compute.admin_token
as_admin = compute.as_admin
alice = compute.alice
rita = compute.rita
bob = compute.bob


class Neutron:
    """/network/v2.0 calls as one caller (a token)."""

    def __init__(self, client: Client, token: str) -> None:
        self.nova = compute.Nova(client, token)

    async def call(self, method: str, path: str, body: Any = None) -> Reply:
        return await self.nova.call(method, path, body, prefix="/network/v2.0")

    async def get(self, path: str) -> Reply:
        return await self.call("GET", path)

    async def post(self, path: str, body: Any) -> Reply:
        return await self.call("POST", path, body)

    async def put(self, path: str, body: Any) -> Reply:
        return await self.call("PUT", path, body)

    async def delete(self, path: str) -> Reply:
        return await self.call("DELETE", path)

    async def create(self, kind: str, **attributes: Any) -> dict[str, Any]:
        """A new network, subnet, port... (201 expected), as shown."""
        reply = await self.post(kind.replace("_", "-") + "s", {kind: attributes})
        assert reply.status == 201, reply.body
        created: dict[str, Any] = reply.body[kind]
        return created


async def router_between(
    neutron: Neutron, external_id: str, subnet_id: str, **attributes: Any
) -> dict[str, Any]:
    """A router as a user makes one for floating IPs: its gateway on the external network
    and an interface on the subnet (as shown when created)."""
    router = await neutron.create(
        "router", external_gateway_info={"network_id": external_id}, **attributes
    )
    added = await neutron.put(
        f"routers/{router['id']}/add_router_interface", {"subnet_id": subnet_id}
    )
    assert added.status == 200, added.body
    return router


def neutron_of(nova: compute.Nova) -> Neutron:
    """/network/v2.0 as the same caller as `nova`."""
    return Neutron(nova.client, nova.token)


async def boot_active(nova: compute.Nova, image_id: str, name: str, **extra: Any) -> dict[str, Any]:
    """A server of m1.nano booted from `image_id` (with `extra` in its request), once
    ACTIVE."""
    body = {"server": {"name": name, "imageRef": image_id, "flavorRef": "1", **extra}}
    reply = await nova.post("servers", body)
    assert reply.status == 202, reply.body
    return await wait_for(nova, reply.body["server"]["id"], "ACTIVE")


@pytest.fixture
def net_admin(client: Client, admin_token: str) -> Neutron:
    return Neutron(client, admin_token)


@pytest.fixture
def net_alice(client: Client, alice: Person) -> Neutron:
    return Neutron(client, alice.token)


@pytest.fixture
def net_rita(client: Client, rita: Person) -> Neutron:
    return Neutron(client, rita.token)


@pytest.fixture
def net_bob(client: Client, bob: Person) -> Neutron:
    return Neutron(client, bob.token)
