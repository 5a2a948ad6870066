"""Events API fixtures: the identity app (with short stream timings), two people in
projects of their own, servers of theirs written to the log, and readers of the API."""

from collections.abc import AsyncIterator, Sequence
from typing import Any

import msgspec
import pytest
from aiohttp.test_utils import TestClient, TestServer

from events.postgres import PostgresEventStore
from events.store import AppendResult
from events.types import Actor, Event, Metadata
from service.app import create_app
from service.compute import events as ev
from service.compute.events import FlavorSnapshot
from service.config import Settings
from service.events_api.sse import STREAM_OPTIONS, StreamOptions
from service.identity.bootstrap import Bootstrapped
from tests.integration.identity import conftest as identity
from tests.integration.identity.conftest import Api, Client, Person, make_person

# The identity app fixtures, used here by name.
settings = identity.settings
admin = identity.admin
admin_token = identity.admin_token
as_admin = identity.as_admin

FLAVOR = FlavorSnapshot(id="1", name="m1.nano", vcpus=1, ram=128, disk=1)


@pytest.fixture
def stream_options() -> StreamOptions:
    return StreamOptions(keepalive=0.2, buffer=1000, write_timeout=5.0)


@pytest.fixture
def port() -> int | None:
    """The test server's port (None: any free one)."""
    return None


@pytest.fixture
async def client(
    settings: Settings,
    store: PostgresEventStore,
    admin: Bootstrapped,
    stream_options: StreamOptions,
    port: int | None,
) -> AsyncIterator[Client]:
    app = create_app(settings, store)
    app[STREAM_OPTIONS] = stream_options
    async with TestClient(TestServer(app, host="127.0.0.1", port=port)) as client:
        yield client


@pytest.fixture
async def alice(as_admin: Api) -> Person:
    return await make_person(as_admin, "member", "alice")


@pytest.fixture
async def bob(as_admin: Api) -> Person:
    return await make_person(as_admin, "member", "bob")


def created(person: Person, server_id: str, **fields: Any) -> ev.ServerCreateRequested:
    """The request that creates a server of `person`'s, with secrets in it."""
    return ev.ServerCreateRequested(
        server_id=server_id, project_id=person.project_id, user_id=person.user_id,
        name=server_id, flavor=FLAVOR, image_id="image-1", availability_zone="nova",
        reservation_id="r-1", user_data="c2VjcmV0", admin_password="hunter2", **fields,
    )  # fmt: skip


async def act(
    store: PostgresEventStore, person: Person, stream_id: str, events: Sequence[Event]
) -> AppendResult:
    """Append events as `person` did, in a request of its own."""
    actor = Actor(user_id=person.user_id, project_id=person.project_id, roles=("member",))
    metadata = Metadata(actor=actor, request_id=f"req-{stream_id}", correlation_id="corr-1")
    return await store.append(stream_id, events, metadata=metadata)


class Reader:
    """The events API as one caller: (status, JSON) for a path under /events/v1."""

    def __init__(self, client: Client, token: str | None) -> None:
        self.client = client
        self.token = token

    def headers(self, **extra: str) -> dict[str, str]:
        return {"X-Auth-Token": self.token, **extra} if self.token else extra

    async def get(self, path: str) -> tuple[int, Any]:
        response = await self.client.get(f"/events/v1/{path}", headers=self.headers())
        return response.status, msgspec.json.decode(await response.read())


@pytest.fixture
def admin_reader(client: Client, admin_token: str) -> Reader:
    return Reader(client, admin_token)
