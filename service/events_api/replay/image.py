"""An image as it was: its stream folded by service/image/fold.py, rendered by Glance's
view (the body of GET /v2/images/{id})."""

from collections.abc import Sequence

import msgspec

from events.types import RecordedEvent
from projections.rows import fold
from service.events_api.envelope import Json
from service.events_api.replay.scene import Scene
from service.image import fold as rows
from service.image import views
from service.image.directory import Image


async def image(events: Sequence[RecordedEvent], scene: Scene) -> Json | None:
    """The image document Glance shows, or None if it did not exist."""
    row = fold(rows.image, events)
    return None if row is None else views.image(msgspec.convert(row, Image))
