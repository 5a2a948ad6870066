"""Image quotas: a project's image count and total bytes, claimed exactly under concurrency.

The limits are Keystone's unified limits of the image service, as Glance reads them
(service/identity/limits.py): a project's own `image_count_total` and `image_size_total`
(MiB) set by an admin (`openstack limit create`), else the registered defaults, which
`kumo up` registers from DEFAULTS. Usage is read from the catalog (rm_images: the
project's images, and the sizes of those holding data). Whatever raises it, creating an
image or activating one with its bytes, is appended together with an `ImageQuotaClaimed`
on the project's `imagequota-<project id>` stream, expecting that stream at the version
read before the usage: of two requests racing for the last image or the last bytes, both
read version v and only the first append at v succeeds; the other reads again and is
refused (or fits). Deletes claim nothing: usage read after them can only be lower.
"""

from typing import Any

import msgspec

from events.postgres import PostgresEventStore
from events.store import StreamAppend
from service.errors import RequestEntityTooLarge
from service.identity.limits import project_limits
from service.image import events as ev

MiB = 1024 * 1024
UNLIMITED = -1
SERVICE_TYPE = "image"
DEFAULTS: dict[str, int] = {"image_count_total": 1000, "image_size_total": 100 * 1024}
"""The configured limits, Glance's unified-limit names (`image_size_total` in MiB as
Glance counts it): registered as the image service's defaults, and used for a resource
whose registered limit is missing. Large enough for Tempest."""
ATTEMPTS = 10


class OverQuota(RequestEntityTooLarge):
    """A request would take a project over its image limits (Glance's 413)."""


class Usage(msgspec.Struct, frozen=True):
    images: int
    size: int  # bytes


class Limits(msgspec.Struct, frozen=True):
    """A project's image limits; UNLIMITED (-1) for none."""

    image_count_total: int
    image_size_total: int  # MiB


async def limits(db: Any, project_id: str) -> Limits:
    """The project's own limits, else the registered defaults, else DEFAULTS."""
    return msgspec.convert(await project_limits(db, project_id, SERVICE_TYPE, DEFAULTS), Limits)


def stream(project_id: str) -> str:
    return f"imagequota-{project_id}"


async def usage(db: Any, project_id: str) -> Usage:
    """The project's images and the bytes of their data, as the catalog has them now."""
    row = await db.fetchrow(
        "SELECT count(*) AS images, coalesce(sum(size), 0)::bigint AS size FROM rm_images"
        " WHERE owner = $1",
        project_id,
    )
    return Usage(images=row["images"], size=row["size"])


def over(project_id: str, resource: str, limit: int, used: int, delta: int) -> OverQuota:
    """The error in oslo.limit's words, which Glance passes on."""
    return OverQuota(
        f"Project {project_id} is over a limit for [Resource {resource} is over limit of "
        f"{limit} due to current usage {used} and delta {delta}]"
    )


def check(project_id: str, used: Usage, limit: Limits, *, images: int = 0, size: int = 0) -> None:
    """OverQuota unless `images` more images and `size` more bytes fit next to `used`."""
    count_limit = limit.image_count_total
    if images and count_limit != UNLIMITED and used.images + images > count_limit:
        raise over(project_id, "image_count_total", count_limit, used.images, images)
    size_limit = limit.image_size_total
    if size and size_limit != UNLIMITED and used.size + size > size_limit * MiB:
        raise over(project_id, "image_size_total", size_limit, _mib(used.size), _mib(size))


def bytes_left(used: Usage, limit: Limits) -> int | None:
    """How many more bytes of data the project may store now; None when unlimited."""
    size_limit = limit.image_size_total
    return None if size_limit == UNLIMITED else max(size_limit * MiB - used.size, 0)


async def claim(
    events: PostgresEventStore, project_id: str, image_id: str, *, images: int = 0, size: int = 0
) -> StreamAppend:
    """The append that takes `images` and `size` of the project's quota, expecting the
    quota stream at the version the usage was read at; OverQuota (413) if they do not fit."""
    # The version first: a claim committed after it makes the append fail, so usage read
    # afterwards can only be newer than the version, never older.
    version = await events.stream_version(stream(project_id))
    used = await usage(events.pool, project_id)
    check(project_id, used, await limits(events.pool, project_id), images=images, size=size)
    claimed = ev.ImageQuotaClaimed(project_id=project_id, image_id=image_id, images=images,
                                   size=size)  # fmt: skip
    return StreamAppend(stream(project_id), [claimed], version)


def _mib(size: int) -> int:
    return -(-size // MiB)
