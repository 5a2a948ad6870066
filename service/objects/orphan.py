"""Reaping orphaned blobs: bytes under `objects/` on a storage policy's backend that no
object version of a container of that policy references, current or noncurrent (kept by
object versioning, service/objects/fold.py).

They are left by a crash between storing a version's bytes and appending its
ObjectStored event, by a failed delete of replaced bytes, or by two overwrites racing
(each deletes the version it read as previous, so the loser's bytes stay behind). A blob
is only removed once it is older than a grace period, so bytes whose event is still on
its way (an upload finishing its quota check or archive copy) are never touched.
"""

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from service.objects.directory import Blob, unreferenced
from service.objects.policy import StoragePolicies, StoragePolicy

log = logging.getLogger("kumo.objects")
PREFIX = "objects/"
GRACE = timedelta(hours=1)
"""How old an unreferenced blob must be before it is reaped; far longer than the gap
between durable bytes and their event."""
INTERVAL = 600.0
"""Seconds between two sweeps of the backends."""
BATCH = 500


def parse(key: str) -> Blob | None:
    """The version a blob key names (see naming.blob_key), or None for a key of another
    shape, which the reaper leaves alone."""
    if not key.startswith(PREFIX):
        return None
    parts = key[len(PREFIX) :].split("/", 2)
    if len(parts) != 3:
        return None
    project_id, container, rest = parts
    name, _, version_id = rest.rpartition("/")
    if not (project_id and container and name and version_id):
        return None
    return Blob(key, project_id, container, name, version_id)


async def reap_orphans(db: Any, policies: StoragePolicies, now: datetime, grace: timedelta) -> int:
    """Delete, on each policy's backend, every blob under `objects/` that no object
    version of that policy references and that was stored before `now - grace`; returns
    how many. Backend or database errors propagate (the sweep is simply tried again
    later)."""
    reaped = 0
    for policy in policies:
        batch: list[Blob] = []
        async for key in policy.backend.list(PREFIX):
            blob = parse(key)
            if blob is not None:
                batch.append(blob)
            if len(batch) >= BATCH:
                reaped += await _reap(db, policy, batch, now - grace)
                batch = []
        if batch:
            reaped += await _reap(db, policy, batch, now - grace)
    return reaped


async def _reap(db: Any, policy: StoragePolicy, blobs: Sequence[Blob], before: datetime) -> int:
    # Checked against the database first, dated second: a blob old enough and unreferenced
    # now cannot become referenced later, since every write stores under a fresh version.
    reaped = 0
    backend = policy.backend
    for key in await unreferenced(db, blobs, policy.name):
        stored = await backend.head(key)
        if stored is None or stored.last_modified >= before:
            continue
        if await backend.delete(key):
            log.info(
                "reaped orphaned blob",
                extra={"key": key, "size": stored.size, "policy": policy.name},
            )
            reaped += 1
    return reaped
