"""Containers and objects as they were, folded by service/objects/fold.py.

Swift answers HEAD of both with headers only, so their documents are those headers as
a JSON object (the ones HEAD describes the resource with, as its owner sees them; not
per-response ones such as X-Trans-Id or Date).
"""

from collections.abc import Sequence

import msgspec

from events.types import RecordedEvent
from projections.rows import fold
from service.events_api.envelope import Json
from service.events_api.replay.scene import Scene
from service.objects import fold as rows
from service.objects.api.container import container_headers
from service.objects.api.reading import object_headers
from service.objects.directory import CountedContainer, StoredObject
from service.objects.large_object import SLO


async def container(events: Sequence[RecordedEvent], scene: Scene) -> Json | None:
    """The headers of HEAD /v1/AUTH_<project>/<container>: X-Container-Object-Count and
    -Bytes-Used (summed over the container's objects as they were, their noncurrent
    versions' bytes too), X-Timestamp, X-Storage-Policy and its metadata."""
    row = fold(rows.container, events)
    if row is None:
        return None
    stored = (
        "category = 'object' AND type = 'ObjectStored'"
        " AND data->>'project_id' = $1 AND data->>'container' = $2"
    )
    objects = await scene.related_rows(rows.versions, stored, row["project_id"], row["name"])
    created = row["created_at"]
    held = [o["current"] for o in objects if o["current"] and o["current"]["created_at"] >= created]
    kept = [k for o in objects for k in rows.kept_rows(o) if k["created_at"] >= created]
    used = sum(o["size"] for o in held + kept)
    counted = row | {"object_count": len(held), "bytes_used": used}
    return container_headers(msgspec.convert(counted, CountedContainer), owner=True)


async def stored_object(events: Sequence[RecordedEvent], scene: Scene) -> Json | None:
    """The headers of HEAD /v1/AUTH_<project>/<container>/<object>: Content-Length,
    Content-Type, Etag (quoted for a static large object), Last-Modified, X-Timestamp,
    Accept-Ranges, X-Delete-At and its metadata."""
    row = fold(rows.stored_object, events)
    if row is None:
        return None
    # An object's headers do not name its container's storage policy: left unread.
    found = msgspec.convert(row | {"storage_policy": ""}, StoredObject)
    etag = f'"{found.etag}"' if found.large_object == SLO else found.etag
    return {"Content-Length": str(found.size)} | object_headers(found, etag)
