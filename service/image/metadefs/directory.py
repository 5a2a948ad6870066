"""Reading the metadefs catalog: typed rows, what a caller may see, and pages of a listing."""

from datetime import datetime
from typing import Any

import msgspec

from service.auth import AuthContext
from service.image.metadefs.fold import JSON_COLUMNS

Item = dict[str, Any]
"""An object, tag or resource type association as the fold keeps it (Glance's shape)."""


class Namespace(msgspec.Struct, frozen=True):
    id: str
    version: int
    namespace: str
    display_name: str | None
    description: str | None
    visibility: str
    protected: bool
    owner: str | None
    objects: list[Item]
    properties: dict[str, Item]
    tags: list[Item]
    resource_types: list[Item]
    created_at: datetime
    updated_at: datetime

    def target(self) -> dict[str, Any]:
        """What a policy rule sees of the namespace: its owner as `project_id`."""
        return {"project_id": self.owner, "visibility": self.visibility}

    def association(self, resource_type: str) -> Item | None:
        """Its association with `resource_type`, or None."""
        return next((a for a in self.resource_types if a["name"] == resource_type), None)


class ResourceType(msgspec.Struct, frozen=True):
    name: str
    created_at: datetime
    updated_at: datetime


COLUMNS = ", ".join(f"n.{name}" for name in Namespace.__struct_fields__)
SORT_KEYS = ("created_at", "updated_at", "namespace", "display_name", "visibility")
_SORT_EXPRESSIONS = {"display_name": "coalesce(n.display_name, '')"}
"""Sort keys that may be NULL, compared as empty text so that the marker's row comparison
works."""


def _namespace(row: Any) -> Namespace:
    record = dict(row)
    for column in JSON_COLUMNS:
        record[column] = msgspec.json.decode(record[column])
    return msgspec.convert(record, Namespace)


def visible(ctx: AuthContext, first_arg: int) -> tuple[str, list[Any]]:
    """A condition on `rm_metadef_namespaces n` true for the namespaces `ctx` may see: all
    for an admin; else the public ones, those of its project and those of no project.
    Arguments are numbered from `first_arg`."""
    if ctx.is_admin:
        return "true", []
    return (
        f"(n.visibility = 'public' OR n.owner IS NULL OR n.owner = ${first_arg})",
        [ctx.project_id],
    )


async def visible_namespace(db: Any, ctx: AuthContext, name: str) -> Namespace | None:
    """The namespace called `name` if `ctx` may see it, else None (as if it did not exist)."""
    where, args = visible(ctx, 2)
    row = await db.fetchrow(
        f"SELECT {COLUMNS} FROM rm_metadef_namespaces n WHERE n.namespace = $1 AND {where}",
        name,
        *args,
    )
    return None if row is None else _namespace(row)


class NamespaceQuery(msgspec.Struct, frozen=True):
    """A listing: filters, order (a key of SORT_KEYS, then creation and id) and page."""

    visibility: str | None
    resource_types: list[str] | None
    sort_key: str
    sort_dir: str
    limit: int
    marker: str | None


async def page(db: Any, ctx: AuthContext, query: NamespaceQuery) -> list[Namespace]:
    """Up to `query.limit` namespaces `ctx` sees that match `query`, after the `marker`
    namespace (by name) if given."""
    where, args = visible(ctx, 1)
    clauses = [where]
    if query.visibility is not None:
        args.append(query.visibility)
        clauses.append(f"n.visibility = ${len(args)}")
    if query.resource_types is not None:
        args.append(query.resource_types)
        clauses.append(
            "EXISTS (SELECT 1 FROM jsonb_array_elements(n.resource_types) a"
            f" WHERE a ->> 'name' = ANY(${len(args)}))"
        )
    first = _SORT_EXPRESSIONS.get(query.sort_key, f"n.{query.sort_key}")
    keys = [first, "n.created_at", "n.id"]
    if query.marker is not None:
        args.append(query.marker)
        after = "<" if query.sort_dir == "desc" else ">"
        clauses.append(
            f"({', '.join(keys)}) {after} (SELECT {', '.join(keys)}"
            f" FROM rm_metadef_namespaces n WHERE n.namespace = ${len(args)})"
        )
    args.append(query.limit)
    order = ", ".join(f"{k} {query.sort_dir}" for k in keys)
    rows = await db.fetch(
        f"SELECT {COLUMNS} FROM rm_metadef_namespaces n WHERE {' AND '.join(clauses)}"
        f" ORDER BY {order} LIMIT ${len(args)}",
        *args,
    )
    return [_namespace(r) for r in rows]


async def resource_types(db: Any) -> list[ResourceType]:
    """Every resource type, in the order they were created."""
    rows = await db.fetch(
        "SELECT name, created_at, updated_at FROM rm_metadef_resource_types ORDER BY position"
    )
    return [msgspec.convert(dict(r), ResourceType) for r in rows]


async def resource_type_exists(db: Any, name: str) -> bool:
    return bool(await db.fetchval("SELECT 1 FROM rm_metadef_resource_types WHERE name = $1", name))
