"""Resources rebuilt from their streams, in the JSON of the service that owns them.

Each renderer takes a stream's leading events (in version order, those that had
happened at the moment asked for) and the scene (public base URL, the store, that
moment), folds them with the fold the service's own projection uses, and returns the
resource's document as its own API shows it (at the base microversion, to a
non-admin), or None when the resource did not exist after those events.
"""

from collections.abc import Awaitable, Callable, Sequence

from events.types import RecordedEvent
from service.events_api.envelope import Json
from service.events_api.replay import compute, identity, image, network, objects
from service.events_api.replay.scene import Scene

Renderer = Callable[[Sequence[RecordedEvent], Scene], Awaitable[Json | None]]

RENDERERS: dict[str, Renderer] = {
    "server": compute.server,
    "flavor": compute.flavor,
    "keypair": compute.keypair,
    "servergroup": compute.server_group,
    "image": image.image,
    "container": objects.container,
    "object": objects.stored_object,
    "network": network.network,
    "subnet": network.subnet,
    "port": network.port,
    "floatingip": network.floating_ip,
    "router": network.router,
    "secgroup": network.security_group,
    **dict.fromkeys(identity.CATEGORIES, identity.resource),
}
"""By resource type (stream category)."""
