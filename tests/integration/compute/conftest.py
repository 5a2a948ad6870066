"""Compute API fixtures: the identity app fixtures (an in-process Kumo with a bootstrapped
admin), a member, a reader and a member of another project, `Nova` (compute calls as
one caller at a microversion), and servers and hosts put in the log as the server API
and the hosts' reactors would.

The highest microversion is raised for these tests so that the shapes of versions above
the served maximum (service/http/versions.py) can be tested too.
"""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from events.postgres import PostgresEventStore
from events.types import Event
from service.compute import events as ev
from service.compute.api import microversion
from service.compute.events import FlavorSnapshot
from tests.integration.compute.schemas import check
from tests.integration.identity import conftest as identity
from tests.integration.identity.conftest import Api, Client, Person, make_person

settings = identity.settings
admin = identity.admin
client = identity.client
admin_token = identity.admin_token
as_admin = identity.as_admin

TEST_MAX_MICROVERSION = "2.90"


@pytest.fixture(autouse=True)
def higher_microversions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(microversion, "MAX", microversion.parse(TEST_MAX_MICROVERSION))


class Reply(msgspec.Struct):
    status: int
    body: Any
    headers: Mapping[str, str]

    def check(self, name: str, version: str = "v2_1") -> Any:
        """The body, once it passes Tempest's schema `name` (e.g. "flavors.list_flavors")."""
        check(version, name, self.status, self.body)
        return self.body


class Nova:
    """Compute calls as one caller (a token), at a microversion (none: 2.1)."""

    def __init__(self, client: Client, token: str, version: str | None = None) -> None:
        self.client = client
        self.token = token
        self.version = version

    def at(self, version: str) -> "Nova":
        return Nova(self.client, self.token, version)

    async def call(
        self, method: str, path: str, body: Any = None, *, prefix: str = "/compute/v2.1"
    ) -> Reply:
        headers = {"X-Auth-Token": self.token}
        if self.version is not None:
            headers["OpenStack-API-Version"] = f"compute {self.version}"
        response = await self.client.request(method, f"{prefix}/{path}", json=body, headers=headers)
        raw = await response.read()
        decoded = msgspec.json.decode(raw) if raw.strip() else None
        return Reply(response.status, decoded, response.headers)

    async def get(self, path: str) -> Reply:
        return await self.call("GET", path)

    async def post(self, path: str, body: Any) -> Reply:
        return await self.call("POST", path, body)

    async def put(self, path: str, body: Any) -> Reply:
        return await self.call("PUT", path, body)

    async def delete(self, path: str) -> Reply:
        return await self.call("DELETE", path)

    async def neutron(self, path: str) -> Reply:
        return await self.call("GET", path, prefix="/network/v2.0")


@pytest.fixture
def nova_admin(client: Client, admin_token: str) -> Nova:
    return Nova(client, admin_token)


@pytest.fixture
async def alice(as_admin: Api) -> Person:
    """A member of project p-alice."""
    return await make_person(as_admin, "member", "alice")


@pytest.fixture
async def rita(as_admin: Api, alice: Person) -> Person:
    """A reader of alice's project."""
    return await make_person(as_admin, "reader", "rita", alice.project_id)


@pytest.fixture
async def bob(as_admin: Api) -> Person:
    """A member of another project, p-bob."""
    return await make_person(as_admin, "member", "bob")


@pytest.fixture
def as_alice(client: Client, alice: Person) -> Nova:
    return Nova(client, alice.token)


@pytest.fixture
def as_rita(client: Client, rita: Person) -> Nova:
    return Nova(client, rita.token)


@pytest.fixture
def as_bob(client: Client, bob: Person) -> Nova:
    return Nova(client, bob.token)


async def add_server(
    store: PostgresEventStore, person: Person, server_id: str, *, host: str | None = None,
    security_groups: tuple[str, ...] = ("default",), server_group_id: str | None = None,
) -> None:  # fmt: skip
    """A server of `person`'s in the log (scheduled and active on `host` if given)."""
    flavor = FlavorSnapshot(id="1", name="m1.nano", vcpus=1, ram=128, disk=1)
    events: list[Event] = [
        ev.ServerCreateRequested(
            server_id=server_id, project_id=person.project_id, user_id=person.user_id,
            name=server_id, flavor=flavor, image_id="image", availability_zone="nova",
            reservation_id="r-1", security_groups=security_groups,
            server_group_id=server_group_id,
        )
    ]  # fmt: skip
    if host is not None:
        events += [
            ev.ServerScheduled(server_id=server_id, host=host, node=host),
            ev.ServerActive(server_id=server_id, host=host, launched_at=datetime.now(UTC)),
        ]
    await store.append(f"server-{server_id}", events)


async def add_host(store: PostgresEventStore, name: str, zone: str = "nova") -> None:
    """A compute host registered as a host's reactor does."""
    registered = ev.HostRegistered(
        host=name, uri="test:///default", hypervisor_type="QEMU", vcpus=8, memory_mb=16384,
        disk_gb=100, availability_zone=zone,
    )  # fmt: skip
    await store.append(f"host-{name}", [registered])
