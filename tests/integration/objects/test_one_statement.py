"""An object's new version appended with its rows in one statement (migrations/0019,
service/objects/projection.py `append`): the same rows and counts as the append in a
transaction, quotas still exact, nothing left of a refused write."""

import pytest

from events.postgres import PostgresEventStore
from events.store import AppendResult, StreamAppend
from events.types import Metadata
from projections.rows import load_row
from service.objects import fold
from service.objects.events import ContainerCreated, ObjectStored
from service.objects.naming import container_stream, object_stream
from service.objects.projection import STORED_IN_ONE, ContainerMissing, append
from service.objects.quota import CONTAINER_BYTES, QuotaExceeded
from service.read_models import catalog

PROJECT = "p1"


def test_only_the_objects_model_handles_what_the_statement_writes() -> None:
    """The one statement stands for every inline model's writes of ObjectStored."""
    handling = [
        name
        for name, model in catalog().items()
        if model.inline
        and (model.projection.types is None or model.projection.types & STORED_IN_ONE.types)
    ]
    assert handling == ["objects"]
    assert STORED_IN_ONE.types == {ObjectStored.type_name()}


async def _container(store: PostgresEventStore, name: str, **metadata: str) -> None:
    created = ContainerCreated(project_id=PROJECT, container=name, metadata=metadata)
    await store.append(container_stream(PROJECT, name), [created])


def _stored(container: str, name: str, size: int, version: str) -> ObjectStored:
    return ObjectStored(
        project_id=PROJECT,
        container=container,
        object=name,
        version_id=version,
        size=size,
        etag=f"etag-{version}",
        content_type="text/plain",
        metadata={"x-object-meta-color": "blue"},
        delete_at=2_000_000_000 if size % 2 else None,
    )


async def _put(store: PostgresEventStore, event: ObjectStored) -> AppendResult:
    """`event` appended by `append`, to its object's stream."""
    stream = object_stream(event.project_id, event.container, event.object)
    return await append(store, [StreamAppend(stream, [event])], Metadata())


async def _row(store: PostgresEventStore, container: str, name: str) -> dict[str, object]:
    key = {"project_id": PROJECT, "container": container, "name": name}
    async with store.pool.acquire() as conn, conn.transaction():
        row = await load_row(conn, "rm_swift_objects", key, json_columns=fold.JSON_COLUMNS)
    assert row is not None
    return row


async def _usage(store: PostgresEventStore, container: str) -> tuple[int, int]:
    row = await store.pool.fetchrow(
        "SELECT object_count, bytes_used FROM rm_swift_containers_counted"
        " WHERE project_id = $1 AND name = $2",
        PROJECT,
        container,
    )
    return row[0], row[1]


async def test_one_statement_writes_what_the_transaction_writes(store: PostgresEventStore) -> None:
    """Two containers get the same writes, one by `append`, one by the transactional
    append; the rows are the fold's of each recorded event and the counts agree."""
    for container in ("one", "two"):
        await _container(store, container)
    for n, (name, size) in enumerate([("a", 5), ("b", 7), ("a", 2), ("b", 9), ("c", 0)]):
        event = _stored("one", name, size, f"v{n}")
        one = await _put(store, event)
        twin = _stored("two", name, size, f"v{n}")
        two = await store.append(object_stream(PROJECT, "two", name), [twin])
        for container, result in (("one", one), ("two", two)):
            (recorded,) = result.events
            expected = fold.stored_object(None, recorded)
            assert await _row(store, container, name) == expected
    assert await _usage(store, "one") == await _usage(store, "two") == (3, 2 + 9 + 0)


async def test_a_write_that_needs_its_quota_is_checked_and_appended_once(
    store: PostgresEventStore,
) -> None:
    await _container(store, "capped", **{CONTAINER_BYTES: "10"})
    result = await _put(store, _stored("capped", "a", 8, "v1"))
    assert [e.version for e in result.events] == [1]
    with pytest.raises(QuotaExceeded):
        await _put(store, _stored("capped", "b", 3, "v2"))
    assert await store.stream_version(object_stream(PROJECT, "capped", "b")) == 0
    assert await _usage(store, "capped") == (1, 8)


async def test_a_write_into_a_missing_container_leaves_nothing(store: PostgresEventStore) -> None:
    with pytest.raises(ContainerMissing):
        await _put(store, _stored("nowhere", "a", 1, "v1"))
    assert await store.stream_version(object_stream(PROJECT, "nowhere", "a")) == 0
