"""Identity resources as they were: their streams folded by service/identity/fold.py,
rendered by Keystone's views (`{"user": ...}` and so on, as GET /v3/users/{id} shows)."""

from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from events.types import RecordedEvent
from projections.rows import fold
from service.events_api.envelope import Json
from service.events_api.replay.scene import Scene
from service.identity import directory, views
from service.identity.fold import identity_row

_VIEWS: dict[str, tuple[type, Callable[[Any, str], Json]]] = {
    "domain": (directory.Domain, views.domain),
    "project": (directory.Project, views.project),
    "user": (directory.User, views.user),
    "group": (directory.Group, views.group),
    "role": (directory.Role, views.role),
    "region": (directory.Region, views.region),
    "service": (directory.Service, views.service),
    "endpoint": (directory.Endpoint, views.endpoint),
    "policy": (directory.Policy, views.policy),
}
CATEGORIES = tuple(_VIEWS)


async def resource(events: Sequence[RecordedEvent], scene: Scene) -> Json | None:
    """`{"<category>": ...}` of the stream's resource, or None if it did not exist."""
    row = fold(identity_row, events)
    if row is None:
        return None
    category = events[0].category
    type_, view = _VIEWS[category]
    return {category: view(msgspec.convert(row, type_), scene.base_url)}
