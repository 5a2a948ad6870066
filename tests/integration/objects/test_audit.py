"""The audit record of an object write commits with the write itself: one record per
request, in the same append as the change when the answer was certain, on its own
(after the answer) when the request failed."""

import pytest
from aiohttp import ClientResponse

from events.postgres import PostgresEventStore
from events.types import RecordedEvent
from service.audit.events import AuditRecorded
from service.objects.naming import object_stream
from tests.integration.objects.conftest import Swift


@pytest.fixture
async def box(swift: Swift) -> Swift:
    assert (await swift.call("PUT", "box")).status == 201
    return swift


async def _audit(store: PostgresEventStore, response: ClientResponse) -> RecordedEvent:
    """The request's only audit record."""
    request_id = response.headers["X-Openstack-Request-Id"]
    records = await store.read_stream(f"audit-{request_id}")
    assert len(records) == 1, records
    assert isinstance(records[0].event, AuditRecorded)
    return records[0]


async def _last_change(store: PostgresEventStore, box: Swift, name: str) -> RecordedEvent:
    return (await store.read_stream(object_stream(box.project_id, "box", name)))[-1]


@pytest.mark.parametrize(
    ("method", "headers", "status", "outcome"),
    [
        ("PUT", {}, 201, "success"),
        ("PUT", {"X-Copy-From": "box/thing"}, 201, "success"),
        ("POST", {"X-Object-Meta-Color": "red"}, 202, "pending"),
        ("DELETE", {}, 204, "success"),
    ],
)
async def test_a_write_and_its_record_commit_together(
    box: Swift,
    store: PostgresEventStore,
    method: str,
    headers: dict[str, str],
    status: int,
    outcome: str,
) -> None:
    assert (await box.call("PUT", "box/thing", body=b"before")).status == 201
    body = b"after" if method == "PUT" and not headers else None
    response = await box.call(method, "box/thing", body=body, headers=headers)
    assert response.status == status
    record = await _audit(store, response)
    change = await _last_change(store, box, "thing")
    assert record.event.status == status and record.event.outcome == outcome
    assert record.event.target.id == change.stream_id.partition("-")[2]
    # One append: the change's and the record's positions follow each other, and they
    # share the append's time and metadata.
    assert record.position == change.position + 1
    assert record.recorded_at == change.recorded_at
    assert record.metadata == change.metadata
    assert record.metadata.request_id == response.headers["X-Openstack-Request-Id"]


async def test_a_versioned_delete_records_once_with_its_last_append(
    box: Swift, store: PostgresEventStore
) -> None:
    assert (await box.call("PUT", "versions")).status == 201
    await box.call("POST", "box", headers={"X-Versions-Location": "versions"})
    for body in (b"one", b"two"):
        assert (await box.call("PUT", "box/thing", body=body)).status == 201
    response = await box.call("DELETE", "box/thing")
    assert response.status == 204
    record = await _audit(store, response)
    assert record.event.status == 204
    assert (await box.call("GET", "box/thing")).status == 200  # "one" came back


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("box/thing", {"ETag": "0" * 32}, 422),
        ("nowhere/thing", {}, 404),
        ("box/thing", {"X-Delete-At": "1"}, 400),
    ],
)
async def test_a_failed_write_is_recorded_with_its_answer(
    box: Swift, store: PostgresEventStore, path: str, headers: dict[str, str], status: int
) -> None:
    response = await box.call("PUT", path, body=b"data", headers=headers)
    assert response.status == status
    record = await _audit(store, response)
    assert record.event.status == status and record.event.outcome == "failure"
    assert (await box.call("GET", path)).status == 404


async def test_a_refused_write_is_recorded_as_denied(
    box: Swift, bob_swift: Swift, store: PostgresEventStore
) -> None:
    response = await bob_swift.on(box.project_id).call("PUT", "box/thing", body=b"x")
    assert response.status == 403
    record = await _audit(store, response)
    assert record.event.status == 403
