"""Event types used by the tests."""

from events.types import Event


class Noted(Event, frozen=True):
    """A test event carrying a number and some text."""

    n: int
    text: str = ""


class Renamed(Event, frozen=True):
    """A second test event type."""

    name: str
