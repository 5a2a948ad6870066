"""Reaping expired objects: readers stop seeing an object at its X-Delete-At at once;
this removes its row and bytes afterwards, in the background. The same background
context sweeps orphaned blobs (service/objects/orphan.py)."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from events.cancellation import being_cancelled
from events.clock import Clock, SystemClock
from events.errors import WrongExpectedVersion
from events.postgres import PostgresEventStore
from service.http.keys import STORE
from service.objects import orphan
from service.objects.api.common import CLOCK
from service.objects.directory import expired_objects
from service.objects.events import ObjectDeleted
from service.objects.large_object import part_of
from service.objects.naming import object_stream
from service.objects.policy import STORAGE_POLICIES, StoragePolicies

log = logging.getLogger("kumo.objects")
INTERVAL = 5.0
BATCH = 500


async def reap_expired(
    store: PostgresEventStore,
    policies: StoragePolicies,
    now: float,
    project_id: str | None = None,
    container: str | None = None,
) -> int:
    """Delete up to one batch of expired objects (of one container if named); returns
    how many. An object changed meanwhile (by a newer PUT or POST) is left alone; a
    versioned one keeps its bytes, a noncurrent version (fold.kept); others' go from
    their container's policy's backend."""
    reaped = 0
    for row in await expired_objects(store.pool, now, BATCH, project_id, container):
        deleted = ObjectDeleted(
            project_id=row.project_id,
            container=row.container,
            object=row.name,
            version_id=row.version_id,
            expired=True,
        )
        try:
            await store.append(
                object_stream(row.project_id, row.container, row.name),
                [deleted],
                row.stream_version,
            )
        except WrongExpectedVersion:
            continue
        if not row.versioned:
            part = part_of(row)
            await policies.backend(part.policy).delete(part.key)
        reaped += 1
    return reaped


async def expiry_reaper(app: web.Application, clock: Clock | None = None) -> AsyncIterator[None]:
    """cleanup_ctx of the root app: reap expired objects every few seconds, and orphaned
    blobs every orphan.INTERVAL seconds, while serving."""
    clock = clock or SystemClock()

    async def sweep_orphans() -> None:
        while True:
            try:
                now = app.get(CLOCK, clock).now()
                await orphan.reap_orphans(app[STORE].pool, app[STORAGE_POLICIES], now, orphan.GRACE)
            except Exception as error:  # the database or the store is away: try again later
                if being_cancelled():
                    raise asyncio.CancelledError from error
                log.warning("orphan reaper failed; retrying", extra={"error": str(error)})
            await asyncio.sleep(orphan.INTERVAL)

    async def run() -> None:
        while True:
            try:
                policies = app[STORAGE_POLICIES]
                while await reap_expired(app[STORE], policies, clock.now().timestamp()):
                    pass
            except Exception as error:  # the database or the store is away: try again later
                if being_cancelled():
                    raise asyncio.CancelledError from error
                log.warning("expiry reaper failed; retrying", extra={"error": str(error)})
            await asyncio.sleep(INTERVAL)

    tasks = [asyncio.create_task(run()), asyncio.create_task(sweep_orphans())]
    yield
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
