"""The chain's canonical encoding, as events/chain.py computes it apart from the database."""

from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

from events.chain import GENESIS, Break, event_hash

EVENT_ID = UUID("7c9e6679-7425-40de-944b-e07fc1f90ae7")
AT = datetime(2026, 11, 26, 1, 2, 3, 456789, tzinfo=timezone(timedelta(hours=2)))
METADATA = '{"actor": {"user_id": "ü"}, "request_id": "req-1"}'
DATA = '{"n": [1, 2.5, null], "name": "vm ✓"}'


def sample(**changes: object) -> bytes:
    fields: dict[str, object] = {
        "previous": GENESIS, "position": 42, "stream_id": "server-7c9e6679", "version": 3,
        "event_id": EVENT_ID, "type_name": "ServerRenamed", "schema_version": 2,
        "recorded_at": AT, "metadata": METADATA, "data": DATA,
    }  # fmt: skip
    return event_hash(**{**fields, **changes})  # type: ignore[arg-type]


def test_matches_the_value_postgres_event_hash_gives() -> None:
    # Computed with migration 0007's event_hash on PostgreSQL 15, from the same values
    # (metadata and data as jsonb print them).
    expected = "eeaffad967ca084c9bb107431967bb93d08819a09a106c9934c0653121230959"
    assert sample().hex() == expected


def test_the_same_instant_in_any_offset_hashes_alike() -> None:
    assert sample(recorded_at=AT.astimezone(UTC)) == sample()
    assert sample(recorded_at=AT + timedelta(microseconds=1)) != sample()


def test_each_field_and_the_previous_hash_count() -> None:
    changed = [
        sample(previous=bytes(31) + b"\x01"), sample(position=43), sample(stream_id="server-x"),
        sample(version=4), sample(event_id=UUID(int=1)), sample(type_name="ServerDeleted"),
        sample(schema_version=1), sample(metadata="{}"), sample(data='{"n": []}'),
    ]  # fmt: skip
    assert len({*changed, sample()}) == len(changed) + 1


def test_field_boundaries_cannot_be_moved() -> None:
    assert sample(stream_id="ab", type_name="c") != sample(stream_id="a", type_name="bc")
    assert sample(metadata="{}1", data=":x") != sample(metadata="{}", data="1:x")


def test_breaks_say_plainly_what_is_wrong() -> None:
    assert Break(9, "note-a", 5, "missing-before", 2).describe() == (
        "event at position 9 (stream note-a, version 5): versions 2 to 4 are missing from"
        " the stream before it"
    )
    assert Break(9, "note-a", 5, "altered", 5).describe() == (
        "event at position 9 (stream note-a, version 5): its content or hash was changed"
        " after it was written"
    )
