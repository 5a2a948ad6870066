"""Small helpers projections share for writing rows from events."""

from collections.abc import Collection
from typing import Any

import msgspec


def set_fields(event: msgspec.Struct, *, exclude: Collection[str] = ()) -> dict[str, Any]:
    """The fields of a partial-update event that are set (UNSET ones are left out)."""
    return {
        name: value
        for name in event.__struct_fields__
        if name not in exclude and (value := getattr(event, name)) is not msgspec.UNSET
    }


async def update_row(
    conn: Any,
    table: str,
    key: tuple[str, Any],
    changes: dict[str, Any],
    *,
    json_columns: Collection[str] = (),
) -> None:
    """UPDATE one row's columns named in `changes` (JSON columns encoded); nothing if empty.

    Table and column names come from code, never from users.
    """
    if not changes:
        return
    columns = list(changes)
    assignments = ", ".join(
        f"{c} = ${i + 2}::jsonb" if c in json_columns else f"{c} = ${i + 2}"
        for i, c in enumerate(columns)
    )
    values = [
        msgspec.json.encode(changes[c]) if c in json_columns else changes[c] for c in columns
    ]
    await conn.execute(f"UPDATE {table} SET {assignments} WHERE {key[0]} = $1", key[1], *values)
