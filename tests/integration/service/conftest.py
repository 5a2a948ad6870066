"""A Kumo app on a real event store behind aiohttp's test server, with a few test routes
mounted under every API (`/<api>/test/...`) to reach the shared middlewares."""

import logging
import uuid
from collections.abc import AsyncIterator

import msgspec
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from events.postgres import PostgresEventStore
from events.store import NO_STREAM
from service.app import create_app
from service.config import Settings
from service.errors import NotFound
from service.http.api import COMPUTE, DASHBOARD, EVENTS, IDENTITY, IMAGE, NETWORK, OBJECT
from service.http.body import json_response, read_json
from service.http.keys import STORE
from service.http.request_id import event_metadata
from tests.sample_events import Noted

PUBLIC_URL = "http://kumo.test:5000"
APIS = (IDENTITY, COMPUTE, IMAGE, OBJECT, NETWORK, EVENTS, DASHBOARD)
SECRET = "db password is hunter2"


class CountingIds:
    """Ids 1, 2, 3... so generated request ids are predictable."""

    def __init__(self) -> None:
        self.count = 0

    def new_id(self) -> uuid.UUID:
        self.count += 1
        return uuid.UUID(int=self.count)


class ServerSpec(msgspec.Struct):
    name: str
    ram: int


class Payload(msgspec.Struct):
    server: ServerSpec


async def echo(request: web.Request) -> web.Response:
    return json_response(await read_json(request, Payload))


async def boom(request: web.Request) -> web.Response:
    raise RuntimeError(SECRET)


async def missing(request: web.Request) -> web.Response:
    raise NotFound("No server with id 42.")


async def redirect(request: web.Request) -> web.Response:
    raise web.HTTPFound("/compute/")


async def metadata(request: web.Request) -> web.Response:
    logging.getLogger("kumo.test").info("handling", extra={"thing": 7})
    return json_response(event_metadata(request))


async def note(request: web.Request) -> web.Response:
    """Append a Noted event to a new stream `note-<stream>`; a second time conflicts."""
    store = request.config_dict[STORE]
    stream = f"note-{request.match_info['stream']}"
    await store.append(stream, [Noted(n=1)], NO_STREAM, metadata=event_metadata(request))
    return json_response({"stream": stream}, status=201)


def routes_for_tests() -> list[web.RouteDef]:
    return [
        web.post("/test/echo", echo),
        web.get("/test/boom", boom),
        web.get("/test/missing", missing),
        web.get("/test/metadata", metadata),
        web.get("/test/redirect", redirect),
        web.post("/test/notes/{stream}", note),
    ]


@pytest.fixture
def settings() -> Settings:
    return Settings(public_url=PUBLIC_URL)


@pytest.fixture
def ids() -> CountingIds:
    return CountingIds()


@pytest.fixture
async def client(
    settings: Settings, store: PostgresEventStore, ids: CountingIds
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = create_app(
        settings, store, ids=ids, extra_routes={api.name: routes_for_tests() for api in APIS}
    )
    async with TestClient(TestServer(app)) as client:
        yield client
