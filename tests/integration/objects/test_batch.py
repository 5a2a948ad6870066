"""Object writes appended together (service/objects/batch.py): each keeps its own
metadata and events, a failing write fails alone, one object's writes are never together."""

import asyncio

import pytest

from events.errors import WrongExpectedVersion
from events.postgres import PostgresEventStore
from events.store import ANY, NO_STREAM, AppendResult, ExpectedVersion, StreamAppend
from events.types import Metadata
from service.objects.batch import batcher
from service.objects.events import ContainerCreated, ObjectStored
from service.objects.naming import container_stream, object_stream
from service.objects.projection import ContainerMissing
from tests.sample_events import Noted

PROJECT = "p1"


async def _container(store: PostgresEventStore, name: str) -> None:
    created = ContainerCreated(project_id=PROJECT, container=name)
    await store.append(container_stream(PROJECT, name), [created])


def _write(
    store: PostgresEventStore,
    container: str,
    name: str,
    size: int,
    request: str,
    expected: ExpectedVersion = ANY,
) -> "asyncio.Task[AppendResult]":
    """A new version of `name` and an event of its request's own stream, as a PUT's."""
    stored = ObjectStored(
        project_id=PROJECT,
        container=container,
        object=name,
        version_id=request,
        size=size,
        etag="0" * 32,
        content_type="text/plain",
    )
    appends = [
        StreamAppend(object_stream(PROJECT, container, name), [stored], expected),
        StreamAppend(f"audit-{request}", [Noted(n=size, text=request)]),
    ]
    metadata = Metadata(request_id=request, correlation_id=request)
    return asyncio.create_task(batcher(store).append(appends, metadata))


async def _transactions(store: PostgresEventStore, requests: list[str]) -> int:
    """How many transactions appended these requests' events."""
    count: int = await store.pool.fetchval(
        "SELECT count(DISTINCT transaction_id) FROM events WHERE stream_id = ANY($1)",
        [f"audit-{r}" for r in requests],
    )
    return count


async def test_concurrent_writes_share_appends_and_keep_their_own(
    store: PostgresEventStore,
) -> None:
    await _container(store, "c")
    requests = [f"req-{n}" for n in range(40)]
    writes = [_write(store, "c", f"o{n}", n, r) for n, r in enumerate(requests)]
    results = await asyncio.gather(*writes)
    for n, (request, result) in enumerate(zip(requests, results, strict=True)):
        streams = {e.stream_id for e in result.events}
        assert streams == {object_stream(PROJECT, "c", f"o{n}"), f"audit-{request}"}
        assert {e.metadata.request_id for e in result.events} == {request}
    usage = await store.pool.fetchrow(
        "SELECT object_count, bytes_used FROM rm_swift_containers_counted"
        " WHERE project_id = $1 AND name = 'c'",
        PROJECT,
    )
    assert tuple(usage) == (40, sum(range(40)))
    assert await _transactions(store, requests) < len(requests)


async def test_a_failing_write_fails_alone(store: PostgresEventStore) -> None:
    await _container(store, "c")
    good = [_write(store, "c", f"o{n}", 1, f"req-{n}") for n in range(10)]
    bad = _write(store, "gone", "x", 1, "req-bad")
    more = [_write(store, "c", f"p{n}", 1, f"req-p{n}") for n in range(10)]
    await asyncio.gather(*good, *more)
    with pytest.raises(ContainerMissing):
        await bad
    assert await store.stream_version(object_stream(PROJECT, "gone", "x")) == 0
    assert await store.stream_version("audit-req-bad") == 0


async def test_writes_of_one_object_are_appended_one_after_another(
    store: PostgresEventStore,
) -> None:
    """Never two of them in one append: each is a version of its own, and the row is the
    last one's."""
    await _container(store, "c")
    writes = [_write(store, "c", "same", n, f"req-{n}") for n in range(6)]
    results = await asyncio.gather(*writes)
    versions = {
        e.version: size
        for size, result in enumerate(results)
        for e in result.events
        if e.stream_id.startswith("object")
    }
    assert sorted(versions) == [1, 2, 3, 4, 5, 6]
    row = await store.pool.fetchrow(
        "SELECT size, stream_version FROM rm_swift_objects WHERE project_id = $1 AND name = 'same'",
        PROJECT,
    )
    assert tuple(row) == (versions[6], 6)
    assert await _transactions(store, [f"req-{n}" for n in range(6)]) == 6


async def test_a_write_cancelled_once_handed_over_still_gets_its_outcome(
    store: PostgresEventStore,
) -> None:
    """Its caller may delete the bytes when the write fails: a cancelled caller must not
    think it failed when its event committed."""
    await _container(store, "c")
    task = _write(store, "c", "kept", 3, "req-kept")
    await asyncio.sleep(0)  # the write is handed over and under way
    task.cancel()
    result = await task
    assert [e.version for e in result.events if e.stream_id.startswith("object")] == [1]
    assert await store.stream_version(object_stream(PROJECT, "c", "kept")) == 1


async def test_a_new_object_whose_stream_exists_fails_at_once_and_alone(
    store: PostgresEventStore,
) -> None:
    """The others of its append go again together, not one by one."""
    await _container(store, "c")
    await _write(store, "c", "taken", 1, "req-first")
    good = [_write(store, "c", f"o{n}", 1, f"req-{n}", NO_STREAM) for n in range(20)]
    bad = _write(store, "c", "taken", 2, "req-bad", NO_STREAM)
    more = [_write(store, "c", f"p{n}", 1, f"req-p{n}", NO_STREAM) for n in range(20)]
    await asyncio.gather(*good, *more)
    with pytest.raises(WrongExpectedVersion):
        await bad
    assert await store.stream_version(object_stream(PROJECT, "c", "taken")) == 1
    assert await store.stream_version("audit-req-bad") == 0
    requests = [f"req-{n}" for n in range(20)] + [f"req-p{n}" for n in range(20)]
    assert await _transactions(store, requests) < 10
