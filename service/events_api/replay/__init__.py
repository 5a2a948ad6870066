"""Resources rebuilt from their streams, in the JSON of the service that owns them.

Each renderer takes a stream's leading events (in version order) and the public base
URL, and returns the resource's document as its own API shows it, or None when the
resource did not exist after those events.
"""

from collections.abc import Callable, Sequence

from events.types import RecordedEvent
from service.events_api.envelope import Json
from service.events_api.replay import server

Renderer = Callable[[Sequence[RecordedEvent], str], Json | None]

RENDERERS: dict[str, Renderer] = {"server": server.render}
"""By resource type (stream category)."""
