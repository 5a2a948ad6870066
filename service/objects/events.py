"""Object storage events. Streams: `swiftaccount-<project id>` (account metadata),
`container-<uuid5 of project/container>` and `object-<uuid5 of project/container/object>`
(see service/objects/naming.py); the events carry the names themselves.

Metadata maps lower-case header names (`x-object-meta-color`, `x-container-read`,
`content-disposition`, ...) to values; an update names what it sets and what it removes.
"""

from events.types import Event

POLICY_0 = "Policy-0"
"""The storage policy on Kumo's object backend, always configured: containers created
before storage policies existed are in it, as Swift's policy 0 holds its legacy ones."""


class AccountMetadataUpdated(Event, frozen=True):
    project_id: str
    set: dict[str, str] = {}
    removed: tuple[str, ...] = ()


class ContainerCreated(Event, frozen=True):
    """A container, its objects' bytes on the backend of `storage_policy` for as long as
    it lives (Swift's X-Storage-Policy; events from before policies are Policy-0's)."""

    project_id: str
    container: str
    metadata: dict[str, str] = {}
    storage_policy: str = POLICY_0


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
    whole; `delete_at` is a Unix time after which the object is gone. A `versioned`
    version (stored while its container's X-Versions-Enabled was true) shows its id and
    is kept as a noncurrent version when replaced or deleted; the version it replaces
    is kept too when this one is `versioned` (service/objects/fold.py, kept)."""

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
    versioned: bool = False


class ObjectMetadataUpdated(Event, frozen=True):
    """A POST: the user metadata is replaced as a whole, as Swift does."""

    project_id: str
    container: str
    object: str
    content_type: str
    metadata: dict[str, str] = {}
    delete_at: int | None = None


class ObjectDeleted(Event, frozen=True):
    """The current version `version_id` is no longer current (nothing when it is not
    the current one): kept as a noncurrent version if it is versioned or a `marker`
    is written, gone otherwise. `marker` is the id of a delete marker, written when the
    container's versioning is enabled."""

    project_id: str
    container: str
    object: str
    version_id: str
    expired: bool = False
    marker: str = ""


class ObjectVersionDeleted(Event, frozen=True):
    """One version is gone for good, current or not (`?version-id=` DELETE); a current
    one leaves the object without a current version."""

    project_id: str
    container: str
    object: str
    version_id: str
