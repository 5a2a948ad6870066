"""Streams are spread over a subscription's partitions here exactly as Postgres spreads
them when it reads the log (events/partition.py)."""

from events.partition import agrees, hashtext, partition_of
from events.postgres import PostgresEventStore


async def test_stream_ids_hash_and_partition_here_as_in_postgres(store: PostgresEventStore) -> None:
    ids = [
        *(f"server-{n:08x}-{n * 7919:012x}" for n in range(200)),
        *("".join(chr(0x61 + (i * 31 + n) % 700) for i in range(n)) for n in range(40)),
        "",
        "é",
        "quota-日本語",
    ]
    rows = await store.pool.fetch(
        "SELECT s, hashtext(s), (hashtext(s) & 2147483647) % 8 FROM unnest($1::text[]) s", ids
    )
    assert len(rows) == len(ids)
    for stream_id, theirs, partition in rows:
        assert (hashtext(stream_id), partition_of(stream_id, 8)) == (theirs, partition), stream_id
    assert await agrees(store.pool)
