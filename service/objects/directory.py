"""Reading the object storage read models: typed rows, usage and listings pages."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec

from service.objects.policy import Usage


class Account(msgspec.Struct, frozen=True):
    project_id: str
    metadata: dict[str, str]
    created_at: datetime | None
    usage: list[Usage]
    """Its containers, objects and bytes under each storage policy it has containers in."""

    @property
    def container_count(self) -> int:
        return sum(u.container_count for u in self.usage)

    @property
    def object_count(self) -> int:
        return sum(u.object_count for u in self.usage)

    @property
    def bytes_used(self) -> int:
        return sum(u.bytes_used for u in self.usage)


class Container(msgspec.Struct, frozen=True):
    project_id: str
    name: str
    metadata: dict[str, str]
    created_at: datetime
    updated_at: datetime
    storage_policy: str
    """The storage policy whose backend keeps its objects' bytes (service/objects/policy.py)."""


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
    storage_policy: str
    """Its container's, read with it: the policy whose backend keeps its bytes."""
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
_OWN_COLUMNS = [column for column in StoredObject.__struct_fields__ if column != "storage_policy"]
"""An object row's columns in rm_swift_objects (and rm_swift_versions)."""
_ROW_COLUMNS = ", ".join(_OWN_COLUMNS)
_OBJECT_COLUMNS = (
    f"{_ROW_COLUMNS}, (SELECT storage_policy FROM rm_swift_containers"
    " WHERE project_id = $1 AND name = $2) AS storage_policy"
)
"""A StoredObject's columns where the query's $1 and $2 are its project and container."""


def _decode(type_: type[Any], row: Any) -> Any:
    values = dict(row)
    values["metadata"] = msgspec.json.decode(values["metadata"])
    return msgspec.convert(values, type_)


async def account(db: Any, project_id: str) -> Account:
    """The account's metadata and usage by storage policy; every project has one (empty
    until used)."""
    row = await db.fetchrow(
        "SELECT a.metadata, a.created_at, (SELECT coalesce(jsonb_agg(jsonb_build_array("
        "u.storage_policy, u.containers, u.objects, u.bytes)), '[]') FROM (SELECT"
        " c.storage_policy, count(DISTINCT c.name) AS containers, sum(s.object_count) AS"
        " objects, sum(s.bytes_used) AS bytes FROM rm_swift_containers c"
        " JOIN rm_swift_container_slots s ON s.project_id = c.project_id"
        " AND s.container = c.name WHERE c.project_id = $1 GROUP BY c.storage_policy) u)"
        " AS usage FROM (SELECT 1) one LEFT JOIN rm_swift_accounts a ON a.project_id = $1",
        project_id,
    )
    return Account(
        project_id=project_id,
        metadata=msgspec.json.decode(row["metadata"]) if row["metadata"] else {},
        created_at=row["created_at"],
        usage=msgspec.json.decode(row["usage"], type=list[Usage]),
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
    + ", ".join(
        f"{'c' if column == 'storage_policy' else 'o'}.{column} AS o_{column}"
        for column in StoredObject.__struct_fields__
    )
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
        f"SELECT {', '.join(f'o.{column}' for column in _OWN_COLUMNS)}, c.storage_policy"
        " FROM rm_swift_objects o JOIN rm_swift_containers c ON c.project_id = o.project_id"
        " AND c.name = o.container WHERE o.delete_at <= $1"
        " AND o.project_id = coalesce($3, o.project_id)"
        " AND o.container = coalesce($4, o.container) ORDER BY o.delete_at LIMIT $2",
        int(now),
        limit,
        project_id,
        container,
    )
    return [_decode(StoredObject, r) for r in rows]


_VERSIONS = (
    f"SELECT {_OBJECT_COLUMNS}, rank, marker, is_latest FROM ("
    f"SELECT {_ROW_COLUMNS}, {CURRENT} AS rank, false AS marker,"
    " (delete_at IS NULL OR delete_at > $3) AS is_latest FROM rm_swift_objects"
    " WHERE project_id = $1 AND container = $2 AND (delete_at IS NULL OR delete_at > $3"
    f" OR versioned) UNION ALL SELECT {_ROW_COLUMNS}, sequence * 2 + marker::int, marker,"
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


async def unreferenced(db: Any, blobs: Sequence[Blob], policy: str) -> list[str]:
    """The keys of `blobs` (on the backend of storage policy `policy`) whose version is
    no version of its object, current or not, in a container of that policy."""
    rows = await db.fetch(
        "SELECT b.key FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])"
        " AS b(key, project_id, container, name, version_id) WHERE NOT (EXISTS (SELECT 1"
        ' FROM rm_swift_objects o WHERE o.project_id = b.project_id COLLATE "C"'
        ' AND o.container = b.container COLLATE "C" AND o.name = b.name COLLATE "C"'
        " AND o.version_id = b.version_id) OR EXISTS (SELECT 1 FROM rm_swift_versions v"
        ' WHERE v.project_id = b.project_id COLLATE "C" AND v.container = b.container'
        ' COLLATE "C" AND v.name = b.name COLLATE "C" AND v.version_id = b.version_id))'
        " OR NOT EXISTS (SELECT 1 FROM rm_swift_containers c WHERE c.project_id ="
        ' b.project_id COLLATE "C" AND c.name = b.container COLLATE "C"'
        " AND c.storage_policy = $6)",
        [b.key for b in blobs],
        [b.project_id for b in blobs],
        [b.container for b in blobs],
        [b.name for b in blobs],
        [b.version_id for b in blobs],
        policy,
    )
    return [row["key"] for row in rows]
