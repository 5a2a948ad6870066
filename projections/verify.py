"""Read models checked against the log: rebuilt in a scratch schema, compared row by row.

Everything happens in one repeatable-read transaction that is rolled back at the end,
so the live tables and the log are seen at one instant and the scratch schema never
outlives the check. An inline model is compared with every event of that snapshot (its
rows commit with the events); an asynchronous one with the events up to its
subscription's checkpoint (its rows commit with the checkpoint).
"""

import os
from collections.abc import Sequence
from typing import Any, Literal, Protocol

import msgspec

from events.postgres import Connection, Pool
from projections.projection import Projection
from projections.runner import fill_scratch, subscription_for

Kind = Literal["differs", "missing", "extra"]
_KINDS: dict[Kind, str] = {
    "differs": "differs from the log",
    "missing": "is in the log but missing from the live table",
    "extra": "is in the live table but not in the log",
}


class Model(Protocol):
    """A read model and whether it is kept inline (service/read_models.py, Registered)."""

    @property
    def projection(self) -> Projection: ...

    @property
    def inline(self) -> bool: ...


class RowDifference(msgspec.Struct, frozen=True):
    """One row that is not as the log makes it; `live`/`rebuilt` are None when absent."""

    table: str
    kind: Kind
    key: dict[str, Any]
    live: dict[str, Any] | None
    rebuilt: dict[str, Any] | None

    def describe(self) -> str:
        """One plain line: which row, and for a differing one, which columns and how."""
        key = ", ".join(f"{k}={v}" for k, v in self.key.items())
        line = f"{self.table} row ({key}) {_KINDS[self.kind]}"
        if self.live is None or self.rebuilt is None:
            return line
        changes = [
            f"{column}: live {self.live.get(column)!r}, log {self.rebuilt.get(column)!r}"
            for column in sorted(self.live.keys() | self.rebuilt.keys())
            if self.live.get(column) != self.rebuilt.get(column)
        ]
        return f"{line}: {'; '.join(changes)}"


class TableCheck(msgspec.Struct, frozen=True):
    """One table of a model: its row counts, how many rows differ, and the first of them."""

    model: str
    table: str
    live_rows: int
    rebuilt_rows: int
    differing: int
    differences: tuple[RowDifference, ...]


class Verification(msgspec.Struct, frozen=True):
    """Every table of every model checked."""

    models: int
    tables: tuple[TableCheck, ...]

    @property
    def clean(self) -> bool:
        return all(t.differing == 0 for t in self.tables)


async def verify_models(pool: Pool, models: Sequence[Model], *, shown: int = 50) -> Verification:
    """Rebuild each model from the log in a scratch schema and compare it with the live one.

    At most `shown` differences are kept per table (all are counted). Raises
    ModelNotSettled when an asynchronous model's partitions stand at different positions.
    """
    schema = f"kumo_verify_{os.getpid()}"  # never committed: a name clash only waits
    checks: list[TableCheck] = []
    async with pool.acquire() as conn:
        transaction = conn.transaction(isolation="repeatable_read")
        await transaction.start()
        try:
            await conn.execute(f"CREATE SCHEMA {schema}")
            for model in models:
                projection = model.projection
                until = None if model.inline else await _checkpoint(conn, projection)
                await fill_scratch(conn, schema, projection, until, gap_safe=False)
                for table in projection.tables:
                    checks.append(await _compare(conn, projection.name, table, schema, shown))
        finally:
            await transaction.rollback()
    return Verification(len(models), tuple(checks))


class ModelNotSettled(Exception):
    """An asynchronous model cannot be compared now: its partitions are at different
    positions of the log."""


async def _checkpoint(conn: Connection, projection: Projection) -> int:
    """The position an asynchronous model's rows stand at (0 before its first run)."""
    group = subscription_for(projection).group
    row = await conn.fetchrow(
        "SELECT coalesce(min(position), 0), coalesce(max(position), 0)"
        " FROM subscription_checkpoints WHERE group_name = $1",
        group,
    )
    assert row is not None  # an aggregate always gives a row
    low, high = row
    if low != high:
        raise ModelNotSettled(
            f"the read model {projection.name} is being caught up (its partitions are at"
            f" positions {low} to {high}); run the check again when it has settled"
        )
    position: int = low
    return position


async def _key_columns(conn: Connection, table: str) -> list[str]:
    """The primary key's columns of public.`table`, in key order (none: no primary key)."""
    rows = await conn.fetch(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a"
        " ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
        " WHERE i.indrelid = $1::regclass AND i.indisprimary"
        " ORDER BY array_position(i.indkey::int2[], a.attnum)",
        f"public.{table}",
    )
    return [r[0] for r in rows]


async def _compare(conn: Connection, model: str, table: str, schema: str, shown: int) -> TableCheck:
    """The live table against its rebuilt copy, rows paired by primary key."""
    columns = await _key_columns(conn, table)
    pairs = ", ".join(f"{_literal(c)}, t.{_quoted(c)}" for c in columns)
    key = f"jsonb_build_object({pairs})" if columns else "to_jsonb(t)"
    query = (
        "SELECT coalesce(l.k, r.k), l.row, r.row"
        f" FROM (SELECT {key} AS k, to_jsonb(t) AS row FROM public.{table} t) l"
        f" FULL JOIN (SELECT {key} AS k, to_jsonb(t) AS row FROM {schema}.{table} t) r"
        " ON l.k = r.k WHERE l.row IS DISTINCT FROM r.row ORDER BY 1"
    )
    differences: list[RowDifference] = []
    differing = 0
    async for k, live, rebuilt in conn.cursor(query):
        differing += 1
        if len(differences) < shown:
            differences.append(_difference(table, k, live, rebuilt))
    counts = await conn.fetchrow(
        f"SELECT (SELECT count(*) FROM public.{table}), (SELECT count(*) FROM {schema}.{table})"
    )
    assert counts is not None
    live_rows, rebuilt_rows = counts
    return TableCheck(model, table, live_rows, rebuilt_rows, differing, tuple(differences))


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


Json = bytes | str
"""jsonb as the connection delivers it: raw bytes with the store's codec, else text."""


def _difference(table: str, key: Json, live: Json | None, rebuilt: Json | None) -> RowDifference:
    """A row difference from the comparison's raw JSON (jsonb arrives as bytes)."""
    decode = msgspec.json.decode
    kind: Kind = "extra" if rebuilt is None else "missing" if live is None else "differs"
    return RowDifference(
        table,
        kind,
        decode(key),
        None if live is None else decode(live),
        None if rebuilt is None else decode(rebuilt),
    )
