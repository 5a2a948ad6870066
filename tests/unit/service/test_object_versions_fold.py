"""The fold of an object's versions (service/objects/fold.py): which replaced or deleted
versions are kept, delete markers, and deletions by version id."""

import uuid
from datetime import UTC, datetime, timedelta

from events.types import Event, Metadata, RecordedEvent
from projections.rows import Row, fold
from service.objects import events as ev
from service.objects.fold import MARKER_TYPE, kept_rows, versions

START = datetime(2026, 11, 26, tzinfo=UTC)
OBJECT = {"project_id": "p", "container": "c", "object": "o"}


def _log(*events: Event) -> list[RecordedEvent]:
    return [
        RecordedEvent(
            position=n,
            stream_id="object-1",
            version=n,
            event_id=uuid.UUID(int=n),
            type=e.type_name(),
            schema_version=1,
            recorded_at=START + timedelta(seconds=n),
            metadata=Metadata(),
            event=e,
        )
        for n, e in enumerate(events, 1)
    ]


def _stored(version_id: str, *, versioned: bool, delete_at: int | None = None) -> ev.ObjectStored:
    return ev.ObjectStored(
        **OBJECT,
        version_id=version_id,
        size=1,
        etag="e",
        content_type="text/plain",
        versioned=versioned,
        delete_at=delete_at,
    )


def _state(*events: Event) -> Row:
    state = fold(versions, _log(*events))
    assert state is not None
    return state


def _kept(state: Row) -> list[tuple[str, int, bool]]:
    return sorted((r["version_id"], r["sequence"], r["marker"]) for r in kept_rows(state))


def test_a_versioned_write_keeps_what_it_replaces_and_an_unversioned_one_does_not() -> None:
    state = _state(_stored("a", versioned=False), _stored("b", versioned=True))
    assert _kept(state) == [("a", 2, False)]
    assert state["current"]["version_id"] == "b"
    state = _state(_stored("a", versioned=False), _stored("b", versioned=False))
    assert _kept(state) == []


def test_a_versioned_version_is_kept_by_an_unversioned_write_and_loses_its_expiry() -> None:
    state = _state(_stored("a", versioned=True, delete_at=5), _stored("b", versioned=False))
    (row,) = kept_rows(state)
    assert (row["version_id"], row["delete_at"], row["versioned"]) == ("a", None, True)


def test_a_delete_with_a_marker_keeps_the_current_version_behind_it() -> None:
    deleted = ev.ObjectDeleted(**OBJECT, version_id="a", marker="m")
    state = _state(_stored("a", versioned=False), deleted)
    assert state["current"] is None
    assert _kept(state) == [("a", 2, False), ("m", 2, True)]
    (marker,) = [r for r in kept_rows(state) if r["marker"]]
    assert (marker["size"], marker["content_type"]) == (0, MARKER_TYPE)


def test_a_delete_without_a_marker_keeps_only_a_versioned_version() -> None:
    plain = _state(_stored("a", versioned=False), ev.ObjectDeleted(**OBJECT, version_id="a"))
    assert (plain["current"], _kept(plain)) == (None, [])
    versioned = _state(_stored("a", versioned=True), ev.ObjectDeleted(**OBJECT, version_id="a"))
    assert _kept(versioned) == [("a", 2, False)]
    stale = _state(_stored("a", versioned=True), ev.ObjectDeleted(**OBJECT, version_id="x"))
    assert (stale["current"]["version_id"], _kept(stale)) == ("a", [])


def test_a_version_deleted_by_id_is_gone_current_or_not() -> None:
    state = _state(
        _stored("a", versioned=True),
        _stored("b", versioned=True),
        ev.ObjectVersionDeleted(**OBJECT, version_id="a"),
    )
    assert (state["current"]["version_id"], _kept(state)) == ("b", [])
    state = _state(
        _stored("a", versioned=True),
        _stored("b", versioned=True),
        ev.ObjectVersionDeleted(**OBJECT, version_id="b"),
    )
    assert (state["current"], _kept(state)) == (None, [("a", 2, False)])
