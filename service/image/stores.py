"""Image stores (Glance's multiple stores): named object backends that keep an image's
bytes, under the same key in each.

`default` is Kumo's object backend (KUMO_OBJECT_BACKEND) and is always there: the bytes
of images activated before stores existed are in it, and staged bytes wait in it for
their import. The settings may declare more, `local` folders or `s3` buckets
(service/config.py), and which store is the default one, where uploads and imports go
unless they name others.
"""

import logging
from collections.abc import AsyncIterator, Iterator, Sequence
from types import TracebackType

import msgspec
from aiohttp import web

from service.config import Settings, store_path
from service.image.events import DEFAULT_STORE
from service.storage import ObjectBackend, ObjectNotFound, ObjectReader, StorageError
from service.storage.configured import declared_backend

log = logging.getLogger("kumo.image")


class UnknownStore(StorageError):
    """No store with that id is configured (any more)."""

    def __init__(self, store_id: str):
        super().__init__(f"no image store {store_id!r} is configured")


class ImageStore(msgspec.Struct, frozen=True):
    id: str
    type: str
    """Glance's name of the store's kind: `file` or `s3`."""
    description: str | None
    backend: ObjectBackend
    properties: dict[str, str]


class ImageStores:
    """The stores by id, and the default one."""

    def __init__(self, stores: Sequence[ImageStore], default: str) -> None:
        self._stores = {store.id: store for store in stores}
        self.default = default

    def __iter__(self) -> Iterator[ImageStore]:
        return iter(self._stores.values())

    def get(self, store_id: str) -> ImageStore | None:
        return self._stores.get(store_id)

    def backend(self, store_id: str) -> ObjectBackend:
        """The backend of a store; UnknownStore if no such store is configured."""
        store = self._stores.get(store_id)
        if store is None:
            raise UnknownStore(store_id)
        return store.backend

    async def __aenter__(self) -> "ImageStores":
        """Start the stores' backends but `default`'s (the application's own)."""
        for store in self._own():
            await store.backend.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for store in self._own():
            await store.backend.close()

    def _own(self) -> list[ImageStore]:
        return [store for store in self if store.id != DEFAULT_STORE]

    async def reader(
        self,
        location: str,
        stores: Sequence[str],
        *,
        byte_range: tuple[int, int | None] | None = None,
    ) -> ObjectReader:
        """A reader of the bytes at `location` (or of `byte_range`) from the first of
        `stores` that has them, the default store first. ObjectNotFound if none of those
        configured has them; RangeNotSatisfiable as the backend's get."""
        ordered = sorted(stores, key=lambda s: s != self.default)
        for store_id in ordered:
            store = self.get(store_id)
            if store is None:
                continue
            try:
                return await store.backend.get(location, byte_range=byte_range)
            except ObjectNotFound:
                log.error("the data of %s is missing from store %s", location, store_id)
        raise ObjectNotFound(location)

    async def copy(
        self, location: str, sources: Sequence[str], target: str, md5: str | None
    ) -> None:
        """Store the bytes at `location` in store `target` too, read from one of `sources`
        and checked against `md5` (if known). All or nothing: StorageError (ObjectNotFound if no
        source has them, ChecksumMismatch) leaves nothing new in `target`."""
        async with await self.reader(location, sources) as reader:
            await self.backend(target).put(
                location, reader, size_hint=reader.size, expected_md5=md5, hashes=()
            )

    async def spread(
        self,
        location: str,
        source: str,
        targets: Sequence[str],
        md5: str | None,
        *,
        all_must_succeed: bool,
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Copy the bytes at `location` in store `source` to each of `targets` (`source`
        itself needs none): the targets that keep them now, and those that failed. The
        first failure with `all_must_succeed`, or the failure of every target, deletes the
        copies made and raises its StorageError."""
        kept: list[str] = []
        failed: list[str] = []
        error: StorageError | None = None
        for target in targets:
            try:
                if target != source:
                    await self.copy(location, (source,), target, md5)
            except StorageError as failure:
                log.warning("could not copy %s to store %s: %s", location, target, failure)
                failed.append(target)
                error = failure
                if all_must_succeed:
                    break
            else:
                kept.append(target)
        if error is not None and (all_must_succeed or not kept):
            await self.discard(location, [store for store in kept if store != source])
            raise error
        return tuple(kept), tuple(failed)

    async def discard(self, location: str, stores: Sequence[str]) -> None:
        """Delete the bytes at `location` from each of `stores`. A store that fails (or is
        no longer configured) keeps them, logged: the catalog no longer points at them,
        so leaving them is the safe failure."""
        for store_id in stores:
            try:
                await self.backend(store_id).delete(location)
            except StorageError:
                log.exception("could not delete %s from store %s", location, store_id)


def configured(settings: Settings, objects: ObjectBackend) -> ImageStores:
    """`default` on `objects`, and the stores the settings declare."""
    if settings.object_backend == "s3":
        builtin = ImageStore(
            DEFAULT_STORE, "s3", None, objects, {"bucket": settings.s3_bucket or ""}
        )
    else:
        folder = str(settings.data_dir / "objects")
        builtin = ImageStore(DEFAULT_STORE, "file", None, objects, {"data_dir": folder})
    declared = [_declared(settings, store_id) for store_id in settings.image_stores]
    return ImageStores([builtin, *declared], settings.image_default_store)


def _declared(settings: Settings, store_id: str) -> ImageStore:
    declared = settings.image_stores[store_id]
    path = store_path(settings, store_id)
    backend = declared_backend(settings, declared, path)
    if declared.type == "s3":
        properties = {"bucket": declared.bucket or ""}
        return ImageStore(store_id, "s3", declared.description, backend, properties)
    return ImageStore(store_id, "file", declared.description, backend, {"data_dir": str(path)})


IMAGE_STORES = web.AppKey("image_stores", ImageStores)


async def image_stores_context(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: start the image stores (after the object backend) and close them."""
    async with app[IMAGE_STORES]:
        yield
