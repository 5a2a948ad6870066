"""Image quotas: a project's image count and total bytes, claimed exactly under concurrency.

The limits are Keystone's unified limits of the image service, as Glance reads them
(service/identity/limits.py): a project's own `image_count_total`, `image_size_total`
(MiB), `image_stage_total` (MiB staged through the import API, awaiting import) and
`image_count_uploading` (images receiving data at once) set by an admin (`openstack
limit create`), else the registered defaults, which `kumo up` registers from DEFAULTS.
Usage is read from the catalog (rm_images: the project's images, the sizes of those
holding data, once per store keeping a copy as Glance counts them, those receiving data)
and, for the staged bytes, from the ImageStaged event of each image whose data is staged
(the catalog shows no size until the import). Copying an image to another store claims
its size again. Whatever raises it, creating an image, starting an upload, staging bytes,
activating an image with its bytes or copying them is appended together with an
`ImageQuotaClaimed` on the project's `imagequota-<project id>` stream, expecting that
stream at the version read before the usage: of two requests racing for the last image or
the last bytes, both read version v and only the first append at v succeeds; the other
reads again and is refused (or fits). Deletes and ends of uploads claim nothing: usage
read after them can only be lower.
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
DEFAULTS: dict[str, int] = {
    "image_count_total": 1000,
    "image_size_total": 100 * 1024,
    "image_stage_total": 100 * 1024,
    "image_count_uploading": UNLIMITED,
}
"""The configured limits, Glance's unified-limit names (`image_size_total` and
`image_stage_total` in MiB as Glance counts them): registered as the image service's
defaults, and used for a resource whose registered limit is missing. Large enough for
Tempest."""
ATTEMPTS = 10


class OverQuota(RequestEntityTooLarge):
    """A request would take a project over its image limits (Glance's 413)."""


class Usage(msgspec.Struct, frozen=True):
    images: int
    size: int  # bytes
    uploading: int = 0  # images receiving data (saving, uploading, importing)
    staged: int = 0  # bytes staged for import


class Limits(msgspec.Struct, frozen=True):
    """A project's image limits; UNLIMITED (-1) for none."""

    image_count_total: int
    image_size_total: int  # MiB
    image_stage_total: int  # MiB
    image_count_uploading: int


async def limits(db: Any, project_id: str) -> Limits:
    """The project's own limits, else the registered defaults, else DEFAULTS."""
    return msgspec.convert(await project_limits(db, project_id, SERVICE_TYPE, DEFAULTS), Limits)


def stream(project_id: str) -> str:
    return f"imagequota-{project_id}"


_USAGE = """
SELECT count(*) AS images, coalesce(sum(size * cardinality(stores)), 0)::bigint AS size,
       count(*) FILTER (WHERE status IN ('saving', 'uploading', 'importing')) AS uploading,
       (SELECT coalesce(sum((staged.data->>'size')::bigint), 0)::bigint
          FROM rm_images s CROSS JOIN LATERAL (
               SELECT data FROM events
                WHERE stream_id = 'image-' || s.id AND type = $2
                ORDER BY version DESC LIMIT 1) staged
         WHERE s.owner = $1 AND s.status = 'uploading' AND s.location IS NOT NULL) AS staged
  FROM rm_images WHERE owner = $1"""


async def usage(db: Any, project_id: str) -> Usage:
    """The project's images, the bytes of their data (in every store), how many are
    receiving data, and the bytes staged for import (an `uploading` image with a location
    holds staged data, whose size its latest ImageStaged records), as the catalog and log
    have them now."""
    row = await db.fetchrow(_USAGE, project_id, ev.ImageStaged.type_name())
    return Usage(
        images=row["images"], size=row["size"], uploading=row["uploading"], staged=row["staged"]
    )


def over(project_id: str, resource: str, limit: int, used: int, delta: int) -> OverQuota:
    """The error in oslo.limit's words, which Glance passes on."""
    return OverQuota(
        f"Project {project_id} is over a limit for [Resource {resource} is over limit of "
        f"{limit} due to current usage {used} and delta {delta}]"
    )


def check(
    project_id: str,
    used: Usage,
    limit: Limits,
    *,
    images: int = 0,
    size: int = 0,
    uploading: int = 0,
    staged: int = 0,
) -> None:
    """OverQuota unless `images` more images, `size` more bytes, `uploading` more uploads
    and `staged` more staged bytes fit next to `used`."""
    count_limit = limit.image_count_total
    if images and count_limit != UNLIMITED and used.images + images > count_limit:
        raise over(project_id, "image_count_total", count_limit, used.images, images)
    uploads = limit.image_count_uploading
    if uploading and uploads != UNLIMITED and used.uploading + uploading > uploads:
        raise over(project_id, "image_count_uploading", uploads, used.uploading, uploading)
    size_limit = limit.image_size_total
    if size and size_limit != UNLIMITED and used.size + size > size_limit * MiB:
        raise over(project_id, "image_size_total", size_limit, _mib(used.size), _mib(size))
    stage_limit = limit.image_stage_total
    if staged and stage_limit != UNLIMITED and used.staged + staged > stage_limit * MiB:
        raise over(project_id, "image_stage_total", stage_limit, _mib(used.staged), _mib(staged))


def bytes_left(used: Usage, limit: Limits, *, staging: bool = False) -> int | None:
    """How many more bytes of data the project may store now (and stage, if `staging`);
    None when unlimited."""
    left = [_left(limit.image_size_total, used.size)]
    if staging:
        left.append(_left(limit.image_stage_total, used.staged))
    known = [n for n in left if n is not None]
    return min(known) if known else None


def _left(limit_mib: int, used: int) -> int | None:
    return None if limit_mib == UNLIMITED else max(limit_mib * MiB - used, 0)


async def claim(
    events: PostgresEventStore,
    project_id: str,
    image_id: str,
    *,
    images: int = 0,
    size: int = 0,
    uploading: int = 0,
    staged: int = 0,
) -> StreamAppend:
    """The append that takes `images`, `size`, `uploading` and `staged` of the project's
    quota, expecting the quota stream at the version the usage was read at; OverQuota
    (413) if they do not fit. (The claim event records images and size; a starting
    upload or a staging claims only its place in the stream's order.)"""
    # The version first: a claim committed after it makes the append fail, so usage read
    # afterwards can only be newer than the version, never older.
    version = await events.stream_version(stream(project_id))
    used = await usage(events.pool, project_id)
    limit = await limits(events.pool, project_id)
    check(project_id, used, limit, images=images, size=size, uploading=uploading, staged=staged)
    claimed = ev.ImageQuotaClaimed(project_id=project_id, image_id=image_id, images=images,
                                   size=size)  # fmt: skip
    return StreamAppend(stream(project_id), [claimed], version)


def _mib(size: int) -> int:
    return -(-size // MiB)
