"""A host's files for its guests: the image cache, each server's disk overlay, config
drive and console log, under <data_dir>/compute.

Images are fetched once per host from the object backend into the cache (checked against
their md5, written under a temporary name and renamed), and every server gets a qcow2
overlay on its image, grown to the flavor's root disk.
"""

import asyncio
import hashlib
import os
import shutil
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from events.postgres import PostgresEventStore
from service.compute import config_drive, disks, image_check
from service.compute.directory import Server
from service.compute.hypervisor import DomainSpec, HypervisorError
from service.compute.server_view import instance_name
from service.image.directory import Image, get_image
from service.image.stored_data import IMAGE_HASHES
from service.image.stores import ImageStores
from service.network.interfaces import interfaces
from service.storage.backend import StorageError, StoredObject

GiB = 1024**3
CHUNK = 1024 * 1024


class GuestFiles:
    """Implements the reactor's `Guests`: prepare a server's files, snapshot and remove them."""

    def __init__(self, root: Path, store: PostgresEventStore, images: ImageStores) -> None:
        """Snapshots go to the default image store; images are read from any store."""
        self.root = root.resolve()  # backing paths must be absolute
        self.store = store
        self.images = images
        self._fetching: dict[str, asyncio.Lock] = {}
        self._infos: dict[Path, disks.DiskInfo] = {}

    def folder(self, server_id: str) -> Path:
        return self.root / "instances" / server_id

    def disk(self, server_id: str) -> Path:
        return self.folder(server_id) / "disk.qcow2"

    async def prepare(self, server: Server, user_data: str | None) -> DomainSpec:
        """The overlay (and config drive) for `server`, and the domain to start on them
        (with an interface per port of the server).
        Raises HypervisorError when the image is missing or its bytes are corrupt."""
        image = await get_image(self.store.pool, server.image_id)
        if image is None or image.location is None:
            raise HypervisorError(f"image {server.image_id} has no data to boot from")
        base = await self._cached_image(image, image.location)
        found = await self._info(base, image)
        folder, overlay = self.folder(server.id), self.disk(server.id)
        size = max(server.flavor.disk * GiB, found.virtual_size)
        _, ports = await asyncio.gather(
            disks.create_overlay(base, overlay, size, base_info=found),  # kept if there
            interfaces(self.store.pool, server.id),
        )
        drive = None
        if server.config_drive:
            drive = folder / "config.iso"
            contents = config_drive.ConfigDrive(
                uuid=server.id, name=server.name, hostname=server.hostname,
                project_id=server.project_id, availability_zone=server.availability_zone,
                launch_index=server.launch_index, key=_key(server), metadata=server.metadata,
                user_data=config_drive.user_data_bytes(user_data) if user_data else None,
            )  # fmt: skip
            await config_drive.build(contents, drive)
        return DomainSpec(
            uuid=server.id,
            name=instance_name(server.id),
            vcpus=server.flavor.vcpus,
            memory_mib=server.flavor.ram,
            serial_log=str(folder / "console.log"),
            disks=(str(overlay),),
            config_drive=str(drive) if drive else None,
            interfaces=ports,
        )

    async def snapshot(self, server_id: str, key: str) -> tuple[str, StoredObject]:
        """Flatten the server's disk into one qcow2 and store it at `key` in the default
        image store (as Glance keeps an upload that names none)."""
        target = self.folder(server_id) / "snapshot.qcow2"
        store = self.images.default
        try:
            await disks.convert(self.disk(server_id), target)
            backend = self.images.backend(store)
            return store, await backend.put(key, _read_file(target), hashes=IMAGE_HASHES)
        finally:
            await asyncio.to_thread(target.unlink, missing_ok=True)

    async def discard(self, key: str, stores: Sequence[str]) -> None:
        for store in stores:
            await self.images.backend(store).delete(key)

    async def remove(self, server_id: str) -> None:
        await asyncio.to_thread(shutil.rmtree, self.folder(server_id), ignore_errors=True)

    async def _info(self, base: Path, image: Image) -> disks.DiskInfo:
        """A cached image's format and sizes, read once it has passed the checks of
        image_check (cached images never change, nor does an active image's format)."""
        known = self._infos.get(base)
        if known is None:
            found = await image_check.bootable_info(base, image.id, image.disk_format)
            known = self._infos[base] = found
        return known

    async def _cached_image(self, image: Image, location: str) -> Path:
        image_id = image.id
        cached = self.root / "images" / image_id
        if cached in self._infos:
            return cached  # fetched and read before; cached images never change
        lock = self._fetching.setdefault(image_id, asyncio.Lock())
        async with lock:
            if await asyncio.to_thread(cached.exists):
                return cached
            await asyncio.to_thread(cached.parent.mkdir, parents=True, exist_ok=True)
            partial = cached.with_name(f"{image_id}.part")
            md5 = hashlib.md5(usedforsecurity=False)
            try:
                async with await self.images.reader(location, image.stores) as reader:
                    with open(partial, "wb") as out:  # noqa: ASYNC230 - chunks written below
                        async for chunk in reader:
                            md5.update(chunk)
                            await asyncio.to_thread(out.write, chunk)
            except StorageError as error:
                raise HypervisorError(f"cannot fetch image {image_id}: {error}") from error
            if image.checksum and md5.hexdigest() != image.checksum:
                await asyncio.to_thread(partial.unlink, missing_ok=True)
                raise HypervisorError(f"image {image_id} failed its checksum")
            await asyncio.to_thread(os.replace, partial, cached)
            return cached


def _key(server: Server) -> config_drive.PublicKey | None:
    """The server's copy of its key pair, if it has one."""
    name, key_type, data = server.key_name, server.key_type, server.public_key
    if name is None or key_type is None or data is None:
        return None
    return config_drive.PublicKey(name, key_type, data)


async def _read_file(path: Path) -> AsyncIterator[bytes]:
    with open(path, "rb") as source:  # noqa: ASYNC230 - read in chunks off the loop below
        while chunk := await asyncio.to_thread(source.read, CHUNK):
            yield chunk
