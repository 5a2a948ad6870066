"""Migration 0015's `event_hash` gives the hashes of 0007's, bit for bit, and those of
events/chain.py, for inputs that stress the encoding."""

import re
from datetime import UTC, datetime
from uuid import UUID

import asyncpg
import msgspec

from events.chain import GENESIS, event_hash
from service.migrator import MIGRATIONS_DIR

_BIG = {f"key-{i}": {"list": list(range(i % 7)), "text": "é" * i} for i in range(400)}
SAMPLES = [
    (1, "note-a", 1, "Noted", 1, datetime(2026, 11, 26, 3, 0, tzinfo=UTC), {}, {}),
    (
        2,
        "note-ü",
        2,
        "Ünïcode✓",
        3,
        datetime(2026, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
        {"actor": "日本語 🙂"},
        {"text": "e\u0301 🙂 \U0001f600 ß"},
    ),
    (
        3,
        "note-b",
        10,
        "",
        1,
        datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        {"request_id": None},
        {"q": 'quote " and \\ and \n and \t', "n": -1.5e300},
    ),
    (
        9_223_372_036_854_775_807,
        "x" * 300,
        123_456_789,
        "Big",
        2_147_483_647,
        datetime(9000, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        _BIG,
        [],
    ),
    (
        5,
        "note-c",
        1,
        "Nested",
        1,
        datetime(2000, 2, 29, 12, 0, 0, 500000, tzinfo=UTC),
        {"a": [1, 2.50, True, None]},
        {"z": 1, "a": {"b": {"c": [[], {}]}}},
    ),
]
_ARGS = "$1, $2, $3, $4, $5, $6, $7, $8, $9::text::jsonb, $10::text::jsonb"


def _function_of_0007() -> str:
    """0007's `event_hash` as it was created then, under the name event_hash_0007."""
    text = next(MIGRATIONS_DIR.glob("0007_*.sql")).read_text()
    found = re.search(r"CREATE FUNCTION event_hash\(.*?\n\$\$;", text, re.S)
    assert found is not None
    return found.group(0).replace("event_hash(", "event_hash_0007(", 1)


async def test_0015_hashes_as_0007_and_as_python(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        language = await conn.fetchval(
            "SELECT l.lanname FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang"
            " WHERE p.proname = 'event_hash'"
        )
        assert language == "plpgsql"  # 0015's, not 0007's
        await conn.execute(_function_of_0007())
        previous = GENESIS
        for position, stream, version, type_name, schema, at, metadata, data in SAMPLES:
            event_id = UUID(int=position % (1 << 128) * 7919)
            args = (previous, position, stream, version, event_id, type_name, schema, at)
            jsons = (msgspec.json.encode(metadata).decode(), msgspec.json.encode(data).decode())
            row = await conn.fetchrow(
                f"SELECT event_hash_0007({_ARGS}) AS old, event_hash({_ARGS}) AS new,"
                " $9::text::jsonb::text AS m, $10::text::jsonb::text AS d",
                *args,
                *jsons,
            )
            assert row["new"] == row["old"], (stream, type_name)
            assert len(row["new"]) == 32
            assert row["new"] == event_hash(*args, row["m"], row["d"])
            previous = row["new"]
        nulls = await conn.fetchrow(
            f"SELECT event_hash_0007({_ARGS}) AS old, event_hash({_ARGS}) AS new",
            GENESIS,
            1,
            "note-a",
            1,
            UUID(int=1),
            "Noted",
            1,
            None,
            "{}",
            "{}",
        )
        assert (nulls["old"], nulls["new"]) == (None, None)
    finally:
        await conn.close()
