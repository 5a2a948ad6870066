"""The image importer. For each ImageImportStarted (web-download), fetch the URL's bytes
into the first store asked for (service/image/web_download.py), copy them to the others
and make the image `active` with them, claiming their size on the owner's quota once per
store; if the fetch fails, a store fails with `all_stores_must_succeed` or they do not
fit, give the image back to `queued` (ImageUploadAborted, which says why) with no bytes
kept. For each ImageCopyStarted (copy-image), copy an image's bytes to each store asked
for, then record ImageCopiedToStore with the claim of their size, or ImageCopyFailed.

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

import msgspec
from aiohttp import web

from events.cancellation import being_cancelled
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
from service.image.format_check import content_problem
from service.image.stored_data import IMAGE_HASHES, activated
from service.image.stores import IMAGE_STORES, ImageStores
from service.image.web_download import FetchError, fetch
from service.storage import StorageError, StoredObject

log = logging.getLogger("kumo.image")
GROUP = "image-importer"
RETRY_DELAY = 5.0
"""Seconds before the importer starts again after a failure."""
_ATTEMPTS = 5
_SETTLED = (ev.ImageImportStarted, ev.ImageUploadAborted, ev.ImageActivated, ev.ImageDeleted)
"""Events after which an earlier import has nothing left to do."""


class ImageImporter:
    """Carries out web-download imports and copy-image copies, and records their outcome."""

    def __init__(self, store: PostgresEventStore, stores: ImageStores, settings: Settings):
        self.store = store
        self.stores = stores
        self.settings = settings

    def subscription(self, partitions: int = 4) -> Subscription:
        return Subscription(
            group=GROUP,
            handler=self.handle,
            partitions=partitions,
            types=(ev.ImageImportStarted.type_name(), ev.ImageCopyStarted.type_name()),
            categories=("image",),
            batch_size=1,
            poll_interval=0.5,
            in_transaction=False,
        )

    async def handle(self, conn: Any, events: Sequence[RecordedEvent]) -> None:
        for recorded in events:
            match recorded.event:
                case ev.ImageImportStarted() as started if await self._pending(recorded):
                    await self._import(recorded, started)
                case ev.ImageCopyStarted() as copy:
                    await self._copy(recorded, copy)

    async def _pending(self, recorded: RecordedEvent) -> bool:
        """Whether nothing has settled this import since it started."""
        later = await self.store.read_stream(recorded.stream_id, recorded.version + 1)
        return not any(isinstance(r.event, _SETTLED) for r in later)

    async def _import(self, cause: RecordedEvent, started: ev.ImageImportStarted) -> None:
        image = await get_image(self.store.pool, started.image_id)
        if image is None or image.status != "importing":
            return
        log.info("importing an image", extra={"image_id": image.id, "uri": started.uri})
        targets = started.stores or (self.stores.default,)
        try:
            backend = self.stores.backend(targets[0])
            # Closed however the put ends, so that its connection never outlives it.
            async with contextlib.aclosing(fetch(started.uri, self.settings)) as fetched:
                chunks = await self._capped(image, fetched)
                stored = await backend.put(data_key(image.id), chunks, hashes=IMAGE_HASHES)
            kept, failed = await self._spread(stored, targets, started.all_stores_must_succeed)
        except (FetchError, StorageError, quota.OverQuota) as error:
            await self._abort(cause, image.id, error)
            return
        event = msgspec.structs.replace(activated(image.id, stored, kept), failed_stores=failed)
        if self.settings.image_format_enforcement:
            problem = await content_problem(self.stores, image, event)
            if problem is not None:
                await self._abort(cause, image.id, ValueError(problem))
                await self.stores.discard(stored.key, kept)
                return
        try:
            done = await self._settle(cause, image.id, event, size=event.size * len(kept))
        except quota.OverQuota as error:
            done = False
            await self._abort(cause, image.id, error)
        if not done:
            await self.stores.discard(stored.key, kept)

    async def _spread(
        self, stored: StoredObject, targets: tuple[str, ...], all_must_succeed: bool
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Copy the bytes stored in the first of `targets` to the others (ImageStores.
        spread); if that fails, the first's are deleted too."""
        try:
            return await self.stores.spread(
                stored.key,
                targets[0],
                targets,
                stored.hashes.md5 if stored.hashes else None,
                all_must_succeed=all_must_succeed,
            )
        except StorageError:
            await self.stores.discard(stored.key, targets[:1])
            raise

    async def _copy(self, cause: RecordedEvent, started: ev.ImageCopyStarted) -> None:
        """Copy the image to each store of `started` that no later event settled (unless the
        image was deleted since); with all_stores_must_succeed, the stores after one that
        failed fail too."""
        later = [r.event for r in await self.store.read_stream(cause.stream_id, cause.version + 1)]
        if any(isinstance(e, ev.ImageDeleted) for e in later):
            return
        settled = [e for e in later if isinstance(e, ev.ImageCopiedToStore | ev.ImageCopyFailed)]
        done = {e.store for e in settled}
        failure = next((e.reason for e in settled if isinstance(e, ev.ImageCopyFailed)), None)
        for target in started.stores:
            if target in done:
                continue
            if failure is not None and started.all_stores_must_succeed:
                reason = f"an earlier store failed: {failure}"
                await self._copy_failed(cause, started.image_id, target, reason)
            else:
                failure = await self._copy_to(cause, started.image_id, target) or failure

    async def _copy_to(self, cause: RecordedEvent, image_id: str, target: str) -> str | None:
        """Copy the image's bytes to `target` and record it; why it failed, or None."""
        image = await get_image(self.store.pool, image_id)
        if image is None or image.location is None:
            return None  # deleted meanwhile: nothing left to copy
        copied = ev.ImageCopiedToStore(image_id=image_id, store=target)
        if target in image.stores:  # copied meanwhile: done, and claimed already
            await self._settle(cause, image_id, copied, importing=False)
            return None
        try:
            await self.stores.copy(image.location, image.stores, target, image.checksum)
        except StorageError as error:
            await self._copy_failed(cause, image_id, target, str(error))
            return str(error)
        try:
            kept = await self._settle(
                cause, image_id, copied, size=image.size or 0, importing=False
            )
        except quota.OverQuota as error:
            await self.stores.discard(image.location, (target,))
            await self._copy_failed(cause, image_id, target, str(error))
            return str(error)
        if not kept:
            await self.stores.discard(image.location, (target,))
        return None

    async def _copy_failed(
        self, cause: RecordedEvent, image_id: str, target: str, reason: str
    ) -> None:
        log.warning("an image copy failed", extra={"image_id": image_id, "store": target})
        failed = ev.ImageCopyFailed(image_id=image_id, store=target, reason=reason)
        await self._settle(cause, image_id, failed, importing=False)

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

    async def _settle(
        self,
        cause: RecordedEvent,
        image_id: str,
        event: Event,
        *,
        size: int = 0,
        importing: bool = True,
    ) -> bool:
        """Append `event` if the image is still there (and importing, if `importing`),
        with the claim of `size` bytes on the owner's quota; False if it is not (deleted
        meanwhile). OverQuota when the bytes do not fit."""
        for _ in range(_ATTEMPTS):
            image = await get_image(self.store.pool, image_id)
            if image is None or (importing and image.status != "importing"):
                return False
            appends = [StreamAppend(stream(image_id), [event], image.version)]
            if size and image.owner is not None:
                appends.append(await quota.claim(self.store, image.owner, image_id, size=size))
            try:
                await self._record(cause, appends)
            except WrongExpectedVersion:
                continue  # the image or the quota moved meanwhile: read again
            return True
        raise RuntimeError(f"image {image_id} kept changing while its import ended")

    async def _record(self, cause: RecordedEvent, appends: list[StreamAppend]) -> None:
        """Append the outcome of `cause` (for a copy, in one store), once: a replay of the
        same outcome (after a restart) is the same command."""
        metadata = Metadata(
            actor=SYSTEM,
            request_id=cause.metadata.request_id,
            causation_id=str(cause.event_id),
            correlation_id=cause.metadata.correlation_id,
        )
        event = appends[0].events[0]
        outcome = event.type_name()
        if isinstance(event, ev.ImageCopiedToStore | ev.ImageCopyFailed):
            outcome += f":{event.store}"
        command_id = uuid.uuid5(uuid.NAMESPACE_OID, f"kumo-import:{cause.event_id}:{outcome}")
        await self.store.append_streams(appends, metadata=metadata, command_id=command_id)


async def image_importer(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx of the root app: carry out web-download imports while serving (started
    again after a failure, e.g. while the database is out of reach)."""
    importer = ImageImporter(app[STORE], app[IMAGE_STORES], app[SETTINGS])

    async def run() -> None:
        while True:
            try:
                await SubscriptionRunner(app[STORE], None, importer.subscription()).run()
            except Exception as error:
                if being_cancelled():
                    raise asyncio.CancelledError from error
                log.warning("the image importer stopped; retrying", extra={"error": str(error)})
            await asyncio.sleep(RETRY_DELAY)

    task = asyncio.create_task(run())
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
