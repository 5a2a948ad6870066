"""Image fixtures: the identity app fixtures (an in-process Kumo with a bootstrapped admin),
people of two projects, and an `Images` helper speaking Glance v2 as one caller."""

from collections.abc import Mapping
from typing import Any

import msgspec
import pytest

from events.postgres import PostgresEventStore
from service.image.metadefs.seed import ensure_resource_types
from service.storage import ObjectBackend
from service.storage.configured import OBJECTS
from tests.integration.identity import conftest as identity
from tests.integration.identity.conftest import Api, Client, Person, make_person
from tests.integration.storage import conftest as storage

# The identity app fixtures, and the moto server for S3 runs, used here by name.
settings = identity.settings
admin = identity.admin
client = identity.client
admin_token = identity.admin_token
as_admin = identity.as_admin
moto_url = storage.moto_url

PATCH = "application/openstack-images-v2.1-json-patch"


class Reply(msgspec.Struct):
    status: int
    body: Any
    headers: Mapping[str, str]
    raw: bytes


class Images:
    """Glance v2 calls as one caller (a token, or none)."""

    def __init__(self, client: Client, token: str | None) -> None:
        self.client = client
        self.token = token

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """The reply to `method /image/v2/<path>`; a JSON body is decoded, other bodies
        are given as text."""
        sent = {"X-Auth-Token": self.token} if self.token else {}
        sent.update(headers or {})
        response = await self.client.request(
            method, f"/image/v2/{path}", json=json, data=data, headers=sent
        )
        raw = await response.read()
        if response.content_type == "application/json" and raw:
            body: Any = msgspec.json.decode(raw)
        else:
            body = raw.decode(errors="replace")
        return Reply(response.status, body, response.headers, raw)

    async def create(self, **attributes: Any) -> dict[str, Any]:
        """A new image; fails the test unless it is created."""
        reply = await self.call("POST", "images", json=attributes)
        assert reply.status == 201, reply.body
        image: dict[str, Any] = reply.body
        return image

    async def show(self, image_id: str) -> dict[str, Any]:
        reply = await self.call("GET", f"images/{image_id}")
        assert reply.status == 200, reply.body
        image: dict[str, Any] = reply.body
        return image

    async def patch(self, image_id: str, *ops: dict[str, Any]) -> Reply:
        return await self.call(
            "PATCH", f"images/{image_id}", data=msgspec.json.encode(list(ops)),
            headers={"Content-Type": PATCH},
        )  # fmt: skip

    async def upload(self, image_id: str, data: Any) -> Reply:
        return await self.call(
            "PUT", f"images/{image_id}/file", data=data,
            headers={"Content-Type": "application/octet-stream"},
        )  # fmt: skip

    async def list(self, query: str = "") -> list[dict[str, Any]]:
        reply = await self.call("GET", f"images{query}")
        assert reply.status == 200, reply.body
        images: list[dict[str, Any]] = reply.body["images"]
        return images


@pytest.fixture
def glance_admin(client: Client, admin_token: str) -> Images:
    return Images(client, admin_token)


@pytest.fixture
async def alice(as_admin: Api) -> Person:
    """A member of project p-alice."""
    return await make_person(as_admin, "member", "alice")


@pytest.fixture
async def bob(as_admin: Api) -> Person:
    """A member of another project, p-bob."""
    return await make_person(as_admin, "member", "bob")


@pytest.fixture
def as_alice(client: Client, alice: Person) -> Images:
    return Images(client, alice.token)


@pytest.fixture
def as_bob(client: Client, bob: Person) -> Images:
    return Images(client, bob.token)


@pytest.fixture
def objects(client: Client) -> ObjectBackend:
    """The object backend the app keeps image bytes in."""
    return client.app[OBJECTS]


@pytest.fixture
async def md_admin(glance_admin: Images, store: PostgresEventStore) -> Images:
    """The admin, on a metadefs catalog with its seeded resource types."""
    await ensure_resource_types(store)
    return glance_admin


async def make_namespace(images: Images, name: str, **attributes: Any) -> dict[str, Any]:
    """A new metadefs namespace; fails the test unless it is created."""
    reply = await images.call("POST", "metadefs/namespaces", json={"namespace": name, **attributes})
    assert reply.status == 201, reply.body
    created: dict[str, Any] = reply.body
    return created
