"""A point in the log's past, as `?at=` names it: a log position or an RFC 3339 time."""

import re
from collections.abc import Sequence
from datetime import datetime

import msgspec

from events.types import RecordedEvent
from service.errors import BadRequest


class Moment(msgspec.Struct, frozen=True):
    """Either a position (events at or before it) or a time (events recorded by then)."""

    position: int | None = None
    time: datetime | None = None

    def includes(self, recorded: RecordedEvent) -> bool:
        """Whether `recorded` had happened at this moment."""
        if self.position is not None:
            return recorded.position <= self.position
        return self.time is None or recorded.recorded_at <= self.time


NOW = Moment()
_PLUS_AS_SPACE = re.compile(r" (\d\d:?\d\d)$")
"""An unescaped "+" of an offset arrives from a query string as a space."""


def parse_moment(text: str | None) -> Moment:
    """The moment `text` names (None: now). A run of digits is a position; anything else
    must be an RFC 3339 time with an offset. Raises BadRequest otherwise."""
    if text is None:
        return NOW
    if text.isdigit():
        return Moment(position=int(text))
    try:
        time = datetime.fromisoformat(_PLUS_AS_SPACE.sub(r"+\1", text.strip()))
    except ValueError:
        time = None
    if time is None or time.tzinfo is None:
        raise BadRequest(
            f"Invalid value for at: {text!r}; give a log position or an RFC 3339 time"
            " with an offset (e.g. 2026-01-31T12:00:00Z)."
        )
    return Moment(time=time)


def until(events: Sequence[RecordedEvent], moment: Moment) -> list[RecordedEvent]:
    """The leading events of a stream that had happened at `moment`."""
    return [e for e in events if moment.includes(e)]
