"""Reading the object storage read models: typed rows, usage and listings pages."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec


class Account(msgspec.Struct, frozen=True):
    project_id: str
    metadata: dict[str, str]
    created_at: datetime | None
    container_count: int
    object_count: int
    bytes_used: int


class Container(msgspec.Struct, frozen=True):
    project_id: str
    name: str
    metadata: dict[str, str]
    created_at: datetime
    updated_at: datetime


class CountedContainer(Container, frozen=True):
    """A container with its usage (the sums over its slots, migrations/0016)."""

    object_count: int
    bytes_used: int


class StoredObject(msgspec.Struct, frozen=True):
    project_id: str
    container: str
    name: str
    version_id: str
    stream_version: int
    size: int
    etag: str
    content_type: str
    metadata: dict[str, str]
    large_object: str
    delete_at: int | None
    created_at: datetime
    last_modified: datetime
    versioned: bool = False
    """Stored while its container's versioning was enabled (migrations/0033): its id is
    shown, and it is kept when replaced or deleted."""

    def expired(self, now: float) -> bool:
        """Whether its X-Delete-At has passed: it is then gone for every reader."""
        return self.delete_at is not None and self.delete_at <= now

    @property
    def shown_id(self) -> str:
        """Its X-Object-Version-Id: its id if versioned, else Swift's `null`."""
        return self.version_id if self.versioned else "null"


class ObjectVersion(StoredObject, frozen=True):
    """A version as `?versions` lists it or `?version-id=` reaches it: the current one
    (`rank` CURRENT), a noncurrent one or a delete marker (`rank` from its sequence,
    migrations/0033), the higher the newer."""

    rank: int = 0
    marker: bool = False
    is_latest: bool = False


CURRENT = 2**63 - 1
"""The rank of a current version: above every noncurrent one of its object."""


_COUNTED_COLUMNS = ", ".join(CountedContainer.__struct_fields__)
_OBJECT_COLUMNS = ", ".join(StoredObject.__struct_fields__)


def _decode(type_: type[Any], row: Any) -> Any:
    values = dict(row)
    values["metadata"] = msgspec.json.decode(values["metadata"])
    return msgspec.convert(values, type_)


async def account(db: Any, project_id: str) -> Account:
    """The account's metadata and usage; every project has one (empty until used)."""
    row = await db.fetchrow(
        "SELECT a.metadata, a.created_at, (SELECT count(*) FROM rm_swift_containers c"
        " WHERE c.project_id = $1) AS container_count, u.object_count, u.bytes_used"
        " FROM (SELECT coalesce(sum(object_count), 0)::bigint AS object_count,"
        " coalesce(sum(bytes_used), 0)::bigint AS bytes_used"
        " FROM rm_swift_container_slots WHERE project_id = $1) u"
        " LEFT JOIN rm_swift_accounts a ON a.project_id = $1",
        project_id,
    )
    return Account(
        project_id=project_id,
        metadata=msgspec.json.decode(row["metadata"]) if row["metadata"] else {},
        created_at=row["created_at"],
        container_count=row["container_count"],
        object_count=row["object_count"],
        bytes_used=row["bytes_used"],
    )


async def container(db: Any, project_id: str, name: str) -> CountedContainer | None:
    row = await db.fetchrow(
        f"SELECT {_COUNTED_COLUMNS} FROM rm_swift_containers_counted"
        " WHERE project_id = $1 AND name = $2",
        project_id,
        name,
    )
    return None if row is None else _decode(CountedContainer, row)


class Found(msgspec.Struct, frozen=True):
    """An object's path as read in one round trip: its container, without its usage
    (None: none), the object's current version there (None: none; expired or not) and
    the account's metadata (temp URL keys, quotas)."""

    container: Container | None
    object: StoredObject | None
    account_metadata: dict[str, str]


_FOUND = (
    "SELECT a.metadata AS a_metadata, "
    + ", ".join(f"c.{column}" for column in Container.__struct_fields__)
    + ", "
    + ", ".join(f"o.{column} AS o_{column}" for column in StoredObject.__struct_fields__)
    + " FROM (SELECT 1) one LEFT JOIN rm_swift_accounts a ON a.project_id = $1"
    " LEFT JOIN rm_swift_containers c ON c.project_id = $1 AND c.name = $2"
    " LEFT JOIN rm_swift_objects o ON o.project_id = c.project_id"
    " AND o.container = c.name AND o.name = $3"
)


async def found(db: Any, project_id: str, container: str, name: str) -> Found:
    """The container, the object's current version and the account's metadata."""
    row = await db.fetchrow(_FOUND, project_id, container, name)
    values = tuple(row.values())
    account_metadata = msgspec.json.decode(values[0]) if values[0] else {}
    width = len(Container.__struct_fields__)
    if values[1] is None:  # c.project_id: no such container
        return Found(None, None, account_metadata)
    columns = zip(Container.__struct_fields__, values[1 : width + 1], strict=True)
    container_row = _decode(Container, columns)
    if values[width + 1] is None:  # o.project_id: no such object
        return Found(container_row, None, account_metadata)
    fields = zip(StoredObject.__struct_fields__, values[width + 1 :], strict=True)
    return Found(container_row, _decode(StoredObject, fields), account_metadata)


async def stored_object(db: Any, project_id: str, container: str, name: str) -> StoredObject | None:
    """The current version of the object, expired or not (see StoredObject.expired)."""
    row = await db.fetchrow(
        f"SELECT {_OBJECT_COLUMNS} FROM rm_swift_objects"
        " WHERE project_id = $1 AND container = $2 AND name = $3",
        project_id,
        container,
        name,
    )
    return None if row is None else _decode(StoredObject, row)


class Page(msgspec.Struct, frozen=True):
    """Which names of a listing to read: after `marker`, before `end_marker`, starting
    with `prefix`, in reverse order if asked."""

    prefix: str = ""
    marker: str = ""
    end_marker: str = ""
    reverse: bool = False


def _where(page: Page, args: list[Any]) -> str:
    clauses = []
    before, after = ("<", ">") if page.reverse else (">", "<")
    if page.prefix:
        args.append(page.prefix)
        clauses.append(f"starts_with(name, ${len(args)})")
    if page.marker:
        args.append(page.marker)
        clauses.append(f"name {before} ${len(args)}")
    if page.end_marker:
        args.append(page.end_marker)
        clauses.append(f"name {after} ${len(args)}")
    order = "DESC" if page.reverse else "ASC"
    return "".join(f" AND {c}" for c in clauses) + f" ORDER BY name {order}"


async def containers_page(
    db: Any, project_id: str, page: Page, limit: int
) -> list[CountedContainer]:
    args: list[Any] = [project_id]
    where = _where(page, args)
    rows = await db.fetch(
        f"SELECT {_COUNTED_COLUMNS} FROM rm_swift_containers_counted WHERE project_id = $1"
        f"{where} LIMIT {int(limit)}",
        *args,
    )
    return [_decode(CountedContainer, r) for r in rows]


async def objects_page(
    db: Any, project_id: str, container: str, page: Page, limit: int, now: float
) -> list[StoredObject]:
    """Unexpired objects of the page, at most `limit`."""
    args: list[Any] = [project_id, container, int(now)]
    where = _where(page, args)
    rows = await db.fetch(
        f"SELECT {_OBJECT_COLUMNS} FROM rm_swift_objects WHERE project_id = $1"
        f" AND container = $2 AND (delete_at IS NULL OR delete_at > $3){where}"
        f" LIMIT {int(limit)}",
        *args,
    )
    return [_decode(StoredObject, r) for r in rows]


async def expired_objects(
    db: Any, now: float, limit: int, project_id: str | None = None, container: str | None = None
) -> list[StoredObject]:
    """Objects whose X-Delete-At has passed (in one container if named), oldest first."""
    rows = await db.fetch(
        f"SELECT {_OBJECT_COLUMNS} FROM rm_swift_objects WHERE delete_at <= $1"
        " AND project_id = coalesce($3, project_id) AND container = coalesce($4, container)"
        " ORDER BY delete_at LIMIT $2",
        int(now),
        limit,
        project_id,
        container,
    )
    return [_decode(StoredObject, r) for r in rows]


_VERSIONS = (
    f"SELECT {_OBJECT_COLUMNS}, rank, marker, is_latest FROM ("
    f"SELECT {_OBJECT_COLUMNS}, {CURRENT} AS rank, false AS marker,"
    " (delete_at IS NULL OR delete_at > $3) AS is_latest FROM rm_swift_objects"
    " WHERE project_id = $1 AND container = $2 AND (delete_at IS NULL OR delete_at > $3"
    f" OR versioned) UNION ALL SELECT {_OBJECT_COLUMNS}, sequence * 2 + marker::int, marker,"
    " marker AND NOT EXISTS"
    " (SELECT FROM rm_swift_objects o WHERE o.project_id = v.project_id"
    " AND o.container = v.container AND o.name = v.name) AND NOT EXISTS (SELECT FROM"
    " rm_swift_versions n WHERE n.project_id = v.project_id AND n.container = v.container"
    " AND n.name = v.name AND n.sequence > v.sequence) FROM rm_swift_versions v"
    " WHERE project_id = $1 AND container = $2) versions WHERE true"
)
"""An object's versions, current and noncurrent, as ObjectVersion rows; an expired
current version is listed while versioned (it is kept once reaped), not as the latest.
A noncurrent version's rank is twice its sequence, a delete marker's one more: the
marker is newer than the version its event kept, and ranks of an object differ."""


async def versions_page(
    db: Any,
    project_id: str,
    container: str,
    page: Page,
    limit: int,
    now: float,
    below: int | None = None,
) -> list[ObjectVersion]:
    """The versions of the page's objects by name, each object's newest first, at most
    `limit`; with `below`, the marker's own versions ranked below it come first."""
    args: list[Any] = [project_id, container, int(now)]
    where = _where(msgspec.structs.replace(page, marker=""), args)
    marker = ""
    if page.marker:
        args.append(page.marker)
        after = "<" if page.reverse else ">"
        marker = f" AND (name {after} ${len(args)}"
        if below is not None:
            args.append(below)
            marker += f" OR name = ${len(args) - 1} AND rank < ${len(args)}"
        marker += ")"
    rows = await db.fetch(f"{_VERSIONS}{marker}{where}, rank DESC LIMIT {int(limit)}", *args)
    return [_decode(ObjectVersion, r) for r in rows]


async def version_of(
    db: Any, project_id: str, container: str, name: str, version_id: str
) -> ObjectVersion | None:
    """The object's version shown as `version_id` (`null`: its unversioned current one),
    expired or not; None when there is none."""
    rows = await db.fetch(
        f"{_VERSIONS} AND name = $4 AND (version_id = $5 AND versioned"
        " OR $5 = 'null' AND rank = $6 AND NOT versioned)",
        project_id,
        container,
        0,
        name,
        version_id,
        CURRENT,
    )
    return _decode(ObjectVersion, rows[0]) if rows else None


class Blob(msgspec.Struct, frozen=True):
    """A backend key and the object version it would hold (see naming.blob_key)."""

    key: str
    project_id: str
    container: str
    name: str
    version_id: str


async def unreferenced(db: Any, blobs: Sequence[Blob]) -> list[str]:
    """The keys of `blobs` whose version is no version of its object, current or not."""
    rows = await db.fetch(
        "SELECT b.key FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])"
        " AS b(key, project_id, container, name, version_id) WHERE NOT EXISTS (SELECT 1"
        ' FROM rm_swift_objects o WHERE o.project_id = b.project_id COLLATE "C"'
        ' AND o.container = b.container COLLATE "C" AND o.name = b.name COLLATE "C"'
        " AND o.version_id = b.version_id) AND NOT EXISTS (SELECT 1 FROM rm_swift_versions v"
        ' WHERE v.project_id = b.project_id COLLATE "C" AND v.container = b.container'
        ' COLLATE "C" AND v.name = b.name COLLATE "C" AND v.version_id = b.version_id)',
        [b.key for b in blobs],
        [b.project_id for b in blobs],
        [b.container for b in blobs],
        [b.name for b in blobs],
        [b.version_id for b in blobs],
    )
    return [row["key"] for row in rows]
