"""The web-download importer: for each ImageImportStarted, fetch the URL's bytes into the
object backend (service/image/web_download.py) and make the image `active` with them,
claiming their size on the owner's quota; if the fetch fails or they do not fit, give
the image back to `queued` (ImageUploadAborted, which says why) with no bytes kept.

It is a checkpointed subscription (events/subscription.py): an import cut off by a
restart is fetched again when the process that takes its partition comes back, unless
the image has moved on since (deleted, imported again, or given up).
"""

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

from aiohttp import web

from events.errors import WrongExpectedVersion
from events.postgres import PostgresEventStore
from events.store import StreamAppend
from events.subscription import Subscription, SubscriptionRunner
from events.types import SYSTEM, Event, Metadata, RecordedEvent
from service.config import Settings
from service.http.keys import SETTINGS, STORE
from service.image import events as ev
from service.image import quota
from service.image.api.common import stream
from service.image.api.data import capped, data_key
from service.image.directory import Image, get_image
from service.image.stored_data import IMAGE_HASHES, activated
from service.image.web_download import FetchError, fetch
from service.storage.backend import ObjectBackend, StorageError
from service.storage.configured import OBJECTS

log = logging.getLogger("kumo.image")
GROUP = "image-importer"
RETRY_DELAY = 5.0
"""Seconds before the importer starts again after a failure."""
_ATTEMPTS = 5
_SETTLED = (ev.ImageImportStarted, ev.ImageUploadAborted, ev.ImageActivated, ev.ImageDeleted)
"""Events after which an earlier import has nothing left to do."""


class ImageImporter:
    """Carries out web-download imports and records their outcome."""

    def __init__(self, store: PostgresEventStore, objects: ObjectBackend, settings: Settings):
        self.store = store
        self.objects = objects
        self.settings = settings

    def subscription(self, partitions: int = 4) -> Subscription:
        return Subscription(
            group=GROUP,
            handler=self.handle,
            partitions=partitions,
            types=(ev.ImageImportStarted.type_name(),),
            categories=("image",),
            batch_size=1,
            poll_interval=0.5,
            in_transaction=False,
        )

    async def handle(self, conn: Any, events: Sequence[RecordedEvent]) -> None:
        for recorded in events:
            if isinstance(recorded.event, ev.ImageImportStarted):
                if await self._pending(recorded):
                    await self._import(recorded, recorded.event)

    async def _pending(self, recorded: RecordedEvent) -> bool:
        """Whether nothing has settled this import since it started."""
        later = await self.store.read_stream(recorded.stream_id, recorded.version + 1)
        return not any(isinstance(r.event, _SETTLED) for r in later)

    async def _import(self, cause: RecordedEvent, started: ev.ImageImportStarted) -> None:
        image = await get_image(self.store.pool, started.image_id)
        if image is None or image.status != "importing":
            return
        log.info("importing an image", extra={"image_id": image.id, "uri": started.uri})
        try:
            # Closed however the put ends, so that its connection never outlives it.
            async with contextlib.aclosing(fetch(started.uri, self.settings)) as fetched:
                chunks = await self._capped(image, fetched)
                stored = await self.objects.put(data_key(image.id), chunks, hashes=IMAGE_HASHES)
        except (FetchError, StorageError, quota.OverQuota) as error:
            await self._abort(cause, image.id, error)
            return
        try:
            done = await self._settle(cause, image.id, activated(image.id, stored))
        except quota.OverQuota as error:
            done = False
            await self._abort(cause, image.id, error)
        if not done:
            await self.objects.delete(stored.key)

    async def _abort(self, cause: RecordedEvent, image_id: str, error: Exception) -> None:
        log.warning("an image import failed", extra={"image_id": image_id, "error": str(error)})
        aborted = ev.ImageUploadAborted(image_id=image_id, reason=f"web-download: {error}")
        await self._settle(cause, image_id, aborted)

    async def _capped(self, image: Image, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """The chunks, stopped with OverQuota past what the owner's quota has left."""
        if image.owner is None:
            return chunks
        used = await quota.usage(self.store.pool, image.owner)
        limits = await quota.limits(self.store.pool, image.owner)
        return capped(chunks, image.owner, used, limits, staging=False)

    async def _settle(self, cause: RecordedEvent, image_id: str, event: Event) -> bool:
        """Append `event` if the image is still importing, with the claim of an
        activation's bytes on the owner's quota; False if it is not (deleted meanwhile).
        OverQuota when the bytes do not fit."""
        for _ in range(_ATTEMPTS):
            image = await get_image(self.store.pool, image_id)
            if image is None or image.status != "importing":
                return False
            appends = [StreamAppend(stream(image_id), [event], image.version)]
            if isinstance(event, ev.ImageActivated) and image.owner is not None:
                appends.append(
                    await quota.claim(self.store, image.owner, image_id, size=event.size)
                )
            try:
                await self._record(cause, appends)
            except WrongExpectedVersion:
                continue  # the image or the quota moved meanwhile: read again
            return True
        raise RuntimeError(f"image {image_id} kept changing while its import ended")

    async def _record(self, cause: RecordedEvent, appends: list[StreamAppend]) -> None:
        """Append the outcome of `cause`, once: a replay of the same outcome (after a
        restart) is the same command."""
        metadata = Metadata(
            actor=SYSTEM,
            request_id=cause.metadata.request_id,
            causation_id=str(cause.event_id),
            correlation_id=cause.metadata.correlation_id,
        )
        outcome = appends[0].events[0].type_name()
        command_id = uuid.uuid5(uuid.NAMESPACE_OID, f"kumo-import:{cause.event_id}:{outcome}")
        await self.store.append_streams(appends, metadata=metadata, command_id=command_id)


async def image_importer(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx of the root app: carry out web-download imports while serving (started
    again after a failure, e.g. while the database is out of reach)."""
    importer = ImageImporter(app[STORE], app[OBJECTS], app[SETTINGS])

    async def run() -> None:
        while True:
            try:
                await SubscriptionRunner(app[STORE], None, importer.subscription()).run()
            except Exception as error:
                log.warning("the image importer stopped; retrying", extra={"error": str(error)})
            await asyncio.sleep(RETRY_DELAY)

    task = asyncio.create_task(run())
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
