"""Object storage events. Streams: `swiftaccount-<project id>` (account metadata),
`container-<uuid5 of project/container>` and `object-<uuid5 of project/container/object>`
(see service/objects/naming.py); the events carry the names themselves.

Metadata maps lower-case header names (`x-object-meta-color`, `x-container-read`,
`content-disposition`, ...) to values; an update names what it sets and what it removes.
"""

from events.types import Event


class AccountMetadataUpdated(Event, frozen=True):
    project_id: str
    set: dict[str, str] = {}
    removed: tuple[str, ...] = ()


class ContainerCreated(Event, frozen=True):
    project_id: str
    container: str
    metadata: dict[str, str] = {}


class ContainerMetadataUpdated(Event, frozen=True):
    project_id: str
    container: str
    set: dict[str, str] = {}
    removed: tuple[str, ...] = ()


class ContainerDeleted(Event, frozen=True):
    project_id: str
    container: str


class ObjectStored(Event, frozen=True):
    """An object's new version, appended only once its bytes are durable under
    `objects/<project>/<container>/<object>/<version_id>`. For a static large object
    (`large_object == "slo"`) the bytes are its manifest and `size`/`etag` describe the
    whole; `delete_at` is a Unix time after which the object is gone."""

    project_id: str
    container: str
    object: str
    version_id: str
    size: int
    etag: str
    content_type: str
    metadata: dict[str, str] = {}
    large_object: str = ""
    delete_at: int | None = None


class ObjectMetadataUpdated(Event, frozen=True):
    """A POST: the user metadata is replaced as a whole, as Swift does."""

    project_id: str
    container: str
    object: str
    content_type: str
    metadata: dict[str, str] = {}
    delete_at: int | None = None


class ObjectDeleted(Event, frozen=True):
    project_id: str
    container: str
    object: str
    version_id: str
    expired: bool = False
