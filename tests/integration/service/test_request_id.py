"""Request ids: generated or taken from the client, echoed, and carried into event metadata."""

import io
import uuid

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from events.postgres import PostgresEventStore
from tests.conftest import log_lines
from tests.integration.service.conftest import CountingIds

Client = TestClient[web.Request, web.Application]

FIRST = f"req-{uuid.UUID(int=1)}"


async def test_generated_from_the_id_source_and_echoed(client: Client, ids: CountingIds) -> None:
    response = await client.get("/identity/v3")
    assert response.headers["x-openstack-request-id"] == FIRST
    assert "x-compute-request-id" not in response.headers
    second = await client.get("/identity/v3")
    assert second.headers["x-openstack-request-id"] == f"req-{uuid.UUID(int=2)}"
    assert ids.count == 2


async def test_valid_incoming_id_is_kept(client: Client, ids: CountingIds) -> None:
    given = f"req-{uuid.uuid4()}"
    response = await client.get("/identity/v3", headers={"x-openstack-request-id": given})
    assert response.headers["x-openstack-request-id"] == given
    assert ids.count == 0


@pytest.mark.parametrize(
    "given", ["not-a-request-id", "req-123", f"{uuid.uuid4()}", f"req-{uuid.uuid4()}x", ""]
)
async def test_invalid_incoming_id_is_replaced(client: Client, given: str) -> None:
    response = await client.get("/identity/v3", headers={"x-openstack-request-id": given})
    assert response.headers["x-openstack-request-id"] == FIRST


async def test_compute_also_echoes_x_compute_request_id(client: Client) -> None:
    response = await client.get("/compute/")
    assert response.headers["x-openstack-request-id"] == FIRST
    assert response.headers["x-compute-request-id"] == FIRST


@pytest.mark.parametrize("path", ["/compute/nowhere", "/compute/test/boom", "/healthz", "/x"])
async def test_echoed_on_errors_and_root_routes_too(client: Client, path: str) -> None:
    response = await client.get(path)
    assert response.headers["x-openstack-request-id"] == FIRST


async def test_event_metadata_carries_request_and_correlation_id(client: Client) -> None:
    response = await client.get("/compute/test/metadata")
    assert await response.json() == {"request_id": FIRST, "correlation_id": FIRST}


async def test_logs_during_the_request_carry_its_id(
    client: Client, log_stream: io.StringIO
) -> None:
    await client.get("/compute/test/metadata")
    handling = [line for line in log_lines(log_stream) if line["message"] == "handling"]
    assert handling == [
        {
            "time": handling[0]["time"],
            "level": "INFO",
            "logger": "kumo.test",
            "message": "handling",
            "request_id": FIRST,
            "thing": 7,
        }
    ]


async def test_request_id_reaches_the_event_log(client: Client, store: PostgresEventStore) -> None:
    given = f"req-{uuid.uuid4()}"
    response = await client.post("/compute/test/notes/a", headers={"x-openstack-request-id": given})
    assert response.status == 201
    [recorded] = await store.read_stream("note-a")
    assert recorded.metadata.request_id == given
    assert recorded.metadata.correlation_id == given


async def test_wrong_expected_version_is_409(client: Client) -> None:
    assert (await client.post("/compute/test/notes/b")).status == 201
    response = await client.post("/compute/test/notes/b")
    assert response.status == 409
    fault = (await response.json())["conflictingRequest"]
    assert fault["code"] == 409
    assert "note-b" not in fault["message"]
