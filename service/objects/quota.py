"""Container and account quotas (Swift's container_quotas and account_quotas), kept exact.

A write is refused early, before its bytes are stored, when the usage read then shows it
would not fit (service/objects/api/writes.py). Racing writes could all pass that check,
so the write that grows a container's or an account's usage checks again inside its own
append (`enforce`, from the objects projection): it takes the container's quota lock,
then the account's, which it keeps until it commits, and counts the usage it then sees
(its own write included) against the limits; over a limit, its whole append fails with
QuotaExceeded (413). Only writes into a container or account with a quota pay for this.
"""

from typing import Any

import msgspec

CONTAINER_BYTES = "x-container-meta-quota-bytes"
CONTAINER_COUNT = "x-container-meta-quota-count"
ACCOUNT_BYTES = ("x-account-quota-bytes", "x-account-meta-quota-bytes")
"""Swift's newer X-Account-Quota-Bytes takes precedence over the legacy metadata form."""
ACCOUNT_COUNT = "x-account-quota-count"
CONTAINER_KEYS = (CONTAINER_BYTES, CONTAINER_COUNT)
ACCOUNT_KEYS = (*ACCOUNT_BYTES, ACCOUNT_COUNT)
CONTAINER_LOCK = 4806
ACCOUNT_LOCK = 4807
"""Advisory lock classes of the writes into a container or an account with a quota."""


class QuotaExceeded(Exception):
    """The write would take its container or account over a quota; nothing was appended."""


class Limits(msgspec.Struct, frozen=True):
    """A container's or an account's quotas (None: none)."""

    bytes: int | None
    count: int | None

    @property
    def any(self) -> bool:
        return self.bytes is not None or self.count is not None

    def exceeded(self, bytes_used: int, object_count: int, *, new_object: bool) -> bool:
        """Whether usage that includes the write is over a limit (the count only matters
        when the write added an object)."""
        return (self.bytes is not None and bytes_used > self.bytes) or (
            new_object and self.count is not None and object_count > self.count
        )


def _limit(value: str | None) -> int | None:
    return None if value is None else int(value)


def container_limits(metadata: dict[str, str]) -> Limits:
    return Limits(_limit(metadata.get(CONTAINER_BYTES)), _limit(metadata.get(CONTAINER_COUNT)))


def account_limits(metadata: dict[str, str]) -> Limits:
    given = next((metadata[k] for k in ACCOUNT_BYTES if k in metadata), None)
    return Limits(_limit(given), _limit(metadata.get(ACCOUNT_COUNT)))


_METADATA = (
    "SELECT (SELECT metadata FROM rm_swift_containers WHERE project_id = $1 AND name = $2),"
    " (SELECT metadata FROM rm_swift_accounts WHERE project_id = $1)"
)
_CONTAINER_USAGE = (
    "SELECT coalesce(sum(bytes_used), 0)::bigint, coalesce(sum(object_count), 0)::bigint"
    " FROM rm_swift_container_slots WHERE project_id = $1 AND container = $2"
)
_ACCOUNT_USAGE = (
    "SELECT coalesce(sum(bytes_used), 0)::bigint, coalesce(sum(object_count), 0)::bigint"
    " FROM rm_swift_container_slots WHERE project_id = $1"
)


async def enforce(conn: Any, project_id: str, container: str, *, new_object: bool) -> None:
    """In the append of a write that grew the container's usage: raise QuotaExceeded if
    the container or its account is now over a quota, once the writes before it that
    could take the same room have committed."""
    row = await conn.fetchrow(_METADATA, project_id, container)
    held = container_limits(msgspec.json.decode(row[0]) if row[0] else {})
    owned = account_limits(msgspec.json.decode(row[1]) if row[1] else {})
    for limits, lock, key, usage, args in (
        (held, CONTAINER_LOCK, f"{project_id}/{container}", _CONTAINER_USAGE, (container,)),
        (owned, ACCOUNT_LOCK, project_id, _ACCOUNT_USAGE, ()),
    ):
        if limits.any:
            await conn.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", lock, key)
            bytes_used, object_count = await conn.fetchrow(usage, project_id, *args)
            if limits.exceeded(bytes_used, object_count, new_object=new_object):
                raise QuotaExceeded(f"{key} is over its quota")
