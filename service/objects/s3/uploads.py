"""Where multipart uploads keep their parts: the container `<bucket>+segments` of the same
project (as Swift's s3api), the upload's marker at `<key>/<upload id>`, its parts at
`<key>/<upload id>/<part number>`; a completed upload is a static large object of its
parts, which go with it when S3 deletes it."""

from urllib.parse import quote

from aiohttp import web

from service.objects import directory as rm
from service.objects.api.common import policies
from service.objects.large_object import SLO, read_manifest

SEGMENTS = "+segments"


def segments_of(bucket: str) -> str:
    """The container of the bucket's upload parts."""
    return bucket + SEGMENTS


def marker_name(key: str, upload_id: str) -> str:
    return f"{key}/{upload_id}"


def part_name(key: str, upload_id: str, number: int) -> str:
    """A part's name: zero-padded, so that names sort by part number."""
    return f"{marker_name(key, upload_id)}/{number:05d}"


async def parts_of(request: web.Request, row: rm.StoredObject) -> list[str]:
    """The paths of the parts of a completed upload `row` (an SLO of parts in its
    bucket's segments container), for deleting them with it; other objects have none.
    Read before the object is deleted: its manifest goes with it."""
    if row.large_object != SLO:
        return []
    folder = f"/{segments_of(row.container)}/"
    entries = await read_manifest(policies(request), row)
    return [quote(e.name) for e in entries if e.name.startswith(folder)]
