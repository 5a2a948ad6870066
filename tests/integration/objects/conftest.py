"""Object storage fixtures: the in-process app (identity's `client`, `as_admin`) on the
local backend, or on S3 (moto) where a module overrides `object_backend`, a Swift
caller per project with a helper that speaks raw HTTP to /object/v1/AUTH_<p>, and an
S3 caller (boto3) signing with alice's EC2 credential."""

import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from events.postgres import PostgresEventStore
from service.app import create_app
from service.config import Settings
from service.identity.bootstrap import Bootstrapped
from service.objects.api.common import CLOCK, MAX_OBJECT_SIZE
from service.objects.api.extract import HEARTBEAT
from tests.integration.identity.conftest import (  # noqa: F401 - fixtures
    Api,
    Client,
    Person,
    admin,
    admin_token,
    as_admin,
    make_person,
    settings,
)
from tests.integration.objects.s3_client import S3, s3_of
from tests.integration.storage.conftest import moto_url  # noqa: F401 - fixture


class ShiftedClock:
    """The wall clock moved forward by `shift`, for expiry without sleeping."""

    def __init__(self) -> None:
        self.shift = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.shift


@pytest.fixture
def clock() -> ShiftedClock:
    return ShiftedClock()


@pytest.fixture
def object_backend() -> str:
    """Where the app keeps object bytes: `local`, or `s3` on the session's moto server.
    A module runs its tests on both with `@pytest.fixture(params=["local", "s3"])`."""
    return "local"


@pytest.fixture
def max_object_size() -> int | None:
    """The app's single-object size limit; None keeps the default."""
    return None


def on_backend(settings: Settings, kind: str, request: pytest.FixtureRequest) -> Settings:  # noqa: F811
    """`settings` storing objects in `kind`: a new bucket of its own for `s3`."""
    if kind == "local":
        return settings
    return msgspec.structs.replace(
        settings,
        object_backend="s3",
        s3_bucket=f"kumo-objects-{secrets.token_hex(6)}",
        s3_endpoint_url=request.getfixturevalue("moto_url"),
        s3_access_key_id="testing",
        s3_secret_access_key="testing",
        s3_region="us-east-1",
    )


@pytest.fixture
def bulk_heartbeat() -> float | None:
    """Seconds after which a bulk upload sends whitespace; None keeps the default."""
    return None


@pytest.fixture
async def client(
    settings: Settings,  # noqa: F811 - the fixtures imported above
    store: PostgresEventStore,
    admin: Bootstrapped,  # noqa: F811
    clock: ShiftedClock,
    object_backend: str,
    max_object_size: int | None,
    bulk_heartbeat: float | None,
    request: pytest.FixtureRequest,
) -> AsyncIterator[Client]:
    """The in-process app on `object_backend`, its object API on the shifted clock."""
    app = create_app(on_backend(settings, object_backend, request), store)
    app[CLOCK] = clock
    if max_object_size is not None:
        app[MAX_OBJECT_SIZE] = max_object_size
    if bulk_heartbeat is not None:
        app[HEARTBEAT] = bulk_heartbeat
    async with TestClient(TestServer(app)) as client:
        yield client


class Swift:
    """Raw Swift calls as one person (or anonymously) against one account."""

    def __init__(self, client: Client, person: Person | None, project_id: str) -> None:
        self.client = client
        self.person = person
        self.project_id = project_id

    @property
    def root(self) -> str:
        return f"/object/v1/AUTH_{self.project_id}"

    def on(self, project_id: str) -> "Swift":
        """The same caller, addressing another account."""
        return Swift(self.client, self.person, project_id)

    def anonymous(self) -> "Swift":
        return Swift(self.client, None, self.project_id)

    async def call(
        self,
        method: str,
        path: str = "",
        *,
        body: Any = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> ClientResponse:
        sent = dict(headers or {})
        if self.person is not None:
            sent.setdefault("X-Auth-Token", self.person.token)
        url = self.root + (f"/{path}" if path else "")
        response = await self.client.request(method, url, data=body, headers=sent, params=params)
        await response.read()
        return response

    async def json(self, where: str = "", **params: str) -> Any:
        """The JSON listing of the account, or of the container `where`."""
        response = await self.call("GET", where, params={"format": "json", **params})
        assert response.status == 200, (response.status, await response.text())
        return msgspec.json.decode(await response.read())


@pytest.fixture
async def alice(as_admin: Api) -> Person:  # noqa: F811
    return await make_person(as_admin, "member", "alice")


@pytest.fixture
async def bob(as_admin: Api) -> Person:  # noqa: F811
    return await make_person(as_admin, "member", "bob")


@pytest.fixture
def swift(client: Client, alice: Person) -> Swift:
    """Alice in her own account."""
    return Swift(client, alice, alice.project_id)


@pytest.fixture
def bob_swift(client: Client, bob: Person) -> Swift:
    return Swift(client, bob, bob.project_id)


@pytest.fixture
async def alice_s3(client: Client, alice: Person) -> S3:
    """Alice through the S3 API, with an EC2 credential on her project."""
    return await s3_of(client, alice)


@pytest.fixture
async def s3(alice_s3: S3) -> S3:
    """Alice through the S3 API, with her bucket `bkt`."""
    await alice_s3.call("create_bucket", Bucket="bkt")
    return alice_s3
