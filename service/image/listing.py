"""`GET /v2/images` query parameters turned into one SQL condition, order and page size.

Follows Glance: exact or `in:a,b` matches on columns, `size_min`/`size_max`, `tag`
(repeatable: all must be present), `created_at`/`updated_at` as `op:time` (gt, gte, lt,
lte, eq, neq), `visibility` (default: everything visible but others' community images),
`member_status` (default accepted), hidden images only when `os_hidden=true`, any other
name matches a custom property. Sorting by `sort=key:dir,...` or `sort_key`/`sort_dir`,
newest first by default, ties broken by id. Malformed values are BadRequest (400).
"""

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import msgspec
from multidict import MultiMapping

from service.auth import AuthContext
from service.errors import BadRequest
from service.image.directory import visible
from service.image.schema import VISIBILITIES

DEFAULT_LIMIT = 25
MAX_LIMIT = 1000
SORT_KEYS = (
    "name", "status", "container_format", "disk_format", "size", "id", "created_at",
    "updated_at", "visibility", "owner", "min_disk", "min_ram", "virtual_size",
)  # fmt: skip
MEMBER_STATUSES = ("accepted", "pending", "rejected", "all")
_TEXT_COLUMNS = (
    "id", "name", "status", "owner", "container_format", "disk_format", "checksum",
    "os_hash_algo", "os_hash_value",
)  # fmt: skip
_INT_COLUMNS = ("size", "virtual_size", "min_disk", "min_ram")
_BOOL_COLUMNS = ("protected",)
_TIME_OPS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "eq": "=", "neq": "<>"}
_CONTROL = frozenset({"limit", "marker", "sort", "sort_key", "sort_dir", "visibility",
                      "member_status", "os_hidden", "tag", "size_min", "size_max",
                      "created_at", "updated_at"})  # fmt: skip


class ListQuery(msgspec.Struct, frozen=True):
    where: str
    args: list[Any]
    order: str
    limit: int
    marker: str | None


class _Conditions:
    """SQL conditions collected with their numbered arguments."""

    def __init__(self) -> None:
        self.clauses: list[str] = []
        self.args: list[Any] = []

    def arg(self, value: Any) -> str:
        self.args.append(value)
        return f"${len(self.args)}"

    def add(self, clause: str) -> None:
        self.clauses.append(clause)


def parse(query: MultiMapping[str], ctx: AuthContext) -> ListQuery:
    """The listing `query` asks of `ctx`'s visible images; BadRequest if malformed."""
    conditions = _Conditions()
    _scope(conditions, query, ctx)
    for name in query:
        if name in _CONTROL or name in _BOOL_COLUMNS:
            continue
        value = query[name]
        if name in _TEXT_COLUMNS:
            _match(conditions, f"i.{name}", value, str)
        elif name in _INT_COLUMNS:
            _match(conditions, f"i.{name}", value, functools.partial(_int, name))
        else:
            conditions.add(f"i.properties ->> {conditions.arg(name)} = {conditions.arg(value)}")
    if "protected" in query:
        conditions.add(f"i.protected = {conditions.arg(_bool('protected', query['protected']))}")
    for tag in query.getall("tag", []):
        conditions.add(f"{conditions.arg(tag)} = ANY(i.tags)")
    for bound, op in (("size_min", ">="), ("size_max", "<=")):
        if bound in query:
            conditions.add(f"i.size {op} {conditions.arg(_int(bound, query[bound]))}")
    for column in ("created_at", "updated_at"):
        if column in query:
            op, at = _time_filter(column, query[column])
            conditions.add(f"i.{column} {op} {conditions.arg(at)}")
    return ListQuery(
        where=" AND ".join(conditions.clauses) or "true",
        args=conditions.args,
        order=_order(query),
        limit=page_size(query),
        marker=query.get("marker"),
    )


def _scope(conditions: _Conditions, query: MultiMapping[str], ctx: AuthContext) -> None:
    """What of the visible images the listing covers: visibility, membership, hidden."""
    where, args = visible(ctx, len(conditions.args) + 1)
    conditions.args.extend(args)
    conditions.add(where)
    visibility = query.get("visibility")
    if visibility is None:
        project = conditions.arg(ctx.project_id)
        conditions.add(f"(i.visibility <> 'community' OR i.owner = {project})")
    elif visibility != "all":
        if visibility not in VISIBILITIES:
            raise BadRequest(f"Invalid visibility value: {visibility}")
        conditions.add(f"i.visibility = {conditions.arg(visibility)}")
    status = query.get("member_status", "accepted")
    if status not in MEMBER_STATUSES:
        raise BadRequest(f"Invalid status value: {status}")
    if status != "all" and not ctx.is_admin:
        # Its own argument: Postgres refuses a statement with a parameter it never uses.
        project = conditions.arg(ctx.project_id)
        conditions.add(
            f"(i.visibility <> 'shared' OR i.owner = {project} OR EXISTS (SELECT 1 FROM"
            f" rm_image_members m WHERE m.image_id = i.id AND m.member_id = {project}"
            f" AND m.status = {conditions.arg(status)}))"
        )
    hidden = _bool("os_hidden", query.get("os_hidden", "false"))
    conditions.add(f"i.os_hidden = {conditions.arg(hidden)}")


def _match(conditions: _Conditions, column: str, value: str, convert: Callable[[str], Any]) -> None:
    """`column = value`, or `column IN (...)` for Glance's `in:a,b` (quotes allowed)."""
    if value.startswith("in:"):
        items = [convert(v.strip().strip('"')) for v in value[3:].split(",")]
        conditions.add(f"{column} = ANY({conditions.arg(items)})")
    else:
        conditions.add(f"{column} = {conditions.arg(convert(value))}")


def _int(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"Invalid value for {name}: {value!r}; it must be an integer.") from None


def _bool(name: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise BadRequest(f"Invalid value for {name}: {value!r}; it must be a boolean.")


def _time_filter(column: str, value: str) -> tuple[str, datetime]:
    """The SQL operator and time of `op:time` (a bare time means `eq`; naive times are UTC)."""
    op, sep, text = value.partition(":")
    if not sep or op not in _TIME_OPS:
        op, text = "eq", value
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"Invalid {column} value: {value}") from None
    return _TIME_OPS[op], at if at.tzinfo else at.replace(tzinfo=UTC)


def _order(query: MultiMapping[str]) -> str:
    """ORDER BY text for the requested keys and directions, then id (Glance's tiebreak)."""
    if "sort" in query:
        if "sort_key" in query or "sort_dir" in query:
            raise BadRequest("The 'sort' parameter cannot be combined with sort_key or sort_dir.")
        pairs = []
        for item in query["sort"].split(","):
            key, _, direction = item.strip().partition(":")
            pairs.append((key, direction or "desc"))
    else:
        keys = query.getall("sort_key", ["created_at"])
        directions = query.getall("sort_dir", ["desc"])
        if len(directions) == 1:
            directions = directions * len(keys)
        elif len(directions) != len(keys):
            raise BadRequest("The number of sort_key and sort_dir values must match.")
        pairs = list(zip(keys, directions, strict=True))
    terms = []
    for key, direction in pairs:
        if key not in SORT_KEYS:
            raise BadRequest(
                f"Invalid sort key: {key}. It should be one of the following: "
                + ", ".join(SORT_KEYS)
                + "."
            )
        if direction not in ("asc", "desc"):
            raise BadRequest(f"Invalid sort direction: {direction}")
        # MySQL's order, which Glance shows: NULL sorts below every value.
        terms.append(f"i.{key} {direction} NULLS {'FIRST' if direction == 'asc' else 'LAST'}")
    if "id" not in (key for key, _ in pairs):
        terms.append(f"i.id {pairs[-1][1]}")
    return ", ".join(terms)


def page_size(query: MultiMapping[str]) -> int:
    """The page size: 25 unless given, at most 1000; BadRequest if not a natural number
    (the metadefs listings take it too)."""
    value = query.get("limit")
    if value is None:
        return DEFAULT_LIMIT
    try:
        limit = int(value)
    except ValueError:
        raise BadRequest("limit param must be an integer") from None
    if limit < 0:
        raise BadRequest("limit param must be positive")
    return min(limit, MAX_LIMIT)
