"""Small helpers projections share for writing rows from events.

A read-model row that one stream owns is kept by a pure fold (`Evolve`): the row as a
dict of its columns, before and after one event of the stream. The same fold rebuilds
the resource from its stream alone for time travel (service/events_api/replay/), and
`project_row` applies it to the table inside the append's transaction.
"""

from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

import msgspec

from events.types import RecordedEvent

Row = dict[str, Any]
Evolve = Callable[[Row | None, RecordedEvent], Row | None]
"""A row (None: absent) after one event of the stream that owns it."""


def set_fields(event: msgspec.Struct, *, exclude: Collection[str] = ()) -> dict[str, Any]:
    """The fields of a partial-update event that are set (UNSET ones are left out)."""
    return {
        name: value
        for name in event.__struct_fields__
        if name not in exclude and (value := getattr(event, name)) is not msgspec.UNSET
    }


def fold(evolve: Evolve, events: Iterable[RecordedEvent]) -> Row | None:
    """The row after `events` (a stream's leading events, in version order)."""
    row: Row | None = None
    for recorded in events:
        row = evolve(row, recorded)
    return row


def _where(key: Mapping[str, Any], first: int) -> str:
    return " AND ".join(f"{column} = ${first + i}" for i, column in enumerate(key))


def encoded(value: Any, json: bool) -> Any:
    """A column's value as asyncpg takes it: JSON columns as encoded bytes, None as NULL."""
    return msgspec.json.encode(value) if json and value is not None else value


async def update_row(
    conn: Any,
    table: str,
    key: tuple[str, Any] | Mapping[str, Any],
    changes: dict[str, Any],
    *,
    json_columns: Collection[str] = (),
) -> None:
    """UPDATE one row's columns named in `changes` (JSON columns encoded, None as NULL);
    nothing if empty. `key` is a column and its value, or several of them.

    Table and column names come from code, never from users.
    """
    if not changes:
        return
    keys = dict([key]) if isinstance(key, tuple) else dict(key)
    columns = list(changes)
    assignments = ", ".join(
        f"{c} = ${i + 1}::jsonb" if c in json_columns else f"{c} = ${i + 1}"
        for i, c in enumerate(columns)
    )
    values = [encoded(changes[c], c in json_columns) for c in columns]
    await conn.execute(
        f"UPDATE {table} SET {assignments} WHERE {_where(keys, len(columns) + 1)}",
        *values,
        *keys.values(),
    )


async def load_row(
    conn: Any, table: str, key: Mapping[str, Any], *, json_columns: Collection[str] = ()
) -> Row | None:
    """The row with that key, its JSON columns decoded, locked until commit; or None."""
    row = await conn.fetchrow(
        f"SELECT * FROM {table} WHERE {_where(key, 1)} FOR UPDATE", *key.values()
    )
    if row is None:
        return None
    return {
        column: msgspec.json.decode(value) if column in json_columns and value else value
        for column, value in row.items()
    }


async def write_row(
    conn: Any,
    table: str,
    key: Mapping[str, Any],
    old: Row | None,
    new: Row | None,
    *,
    json_columns: Collection[str] = (),
) -> None:
    """Make the row go from `old` to `new`: INSERT, UPDATE of the changed columns, or
    DELETE (None is an absent row)."""
    if new is None:
        if old is not None:
            await conn.execute(f"DELETE FROM {table} WHERE {_where(key, 1)}", *key.values())
        return
    if old is not None:
        changes = {c: v for c, v in new.items() if c not in old or old[c] != v}
        await update_row(conn, table, key, changes, json_columns=json_columns)
        return
    columns = list(new)
    values = ", ".join(
        f"${i + 1}::jsonb" if c in json_columns else f"${i + 1}" for i, c in enumerate(columns)
    )
    await conn.execute(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({values})",
        *(encoded(new[c], c in json_columns) for c in columns),
    )


async def project_row(
    conn: Any,
    table: str,
    key: Mapping[str, Any],
    evolve: Evolve,
    recorded: RecordedEvent,
    *,
    json_columns: Collection[str] = (),
) -> tuple[Row | None, Row | None]:
    """Apply one event to the row its stream owns, by the stream's fold; the row before
    and after (None: absent)."""
    old = await load_row(conn, table, key, json_columns=json_columns)
    new = evolve(old, recorded)
    await write_row(conn, table, key, old, new, json_columns=json_columns)
    return old, new
