"""Time and identity sources, injectable so that replays and tests are deterministic."""

import uuid
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Tells the current time."""

    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...


class IdSource(Protocol):
    """Hands out new unique ids."""

    def new_id(self) -> uuid.UUID:
        """A fresh id, never handed out before."""
        ...


class SystemClock:
    """The machine's wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)  # noqa: TID251 - this is the clock


class RandomIds:
    """Random (version 4) UUIDs."""

    def new_id(self) -> uuid.UUID:
        return uuid.uuid4()  # noqa: TID251 - this is the id source
