"""Image events. One stream per image: `image-<id>`, the id being Glance's UUID text.

The bytes never enter the log: `ImageActivated` records where they are kept (`location`,
the same key in each of its `stores`, service/image/stores.py) with their size and
hashes; copies to more stores and removals from one are events too, appended after the
copy's bytes are stored and before a removal's are deleted, so that the catalog never
points at bytes that are not there. Partial updates carry only what changed
(msgspec UNSET is omitted when encoded); `properties` and `tags`, when present, are
the image's whole new set.
"""

from msgspec import UNSET, UnsetType

from events.types import Event

DEFAULT_STORE = "default"
"""The store of Kumo's object backend, where the bytes of events before stores were
recorded live."""


class ImageCreated(Event, frozen=True):
    image_id: str
    owner: str | None
    name: str | None = None
    visibility: str = "shared"
    protected: bool = False
    os_hidden: bool = False
    container_format: str | None = None
    disk_format: str | None = None
    min_disk: int = 0
    min_ram: int = 0
    tags: tuple[str, ...] = ()
    properties: dict[str, str] = {}


class ImageUpdated(Event, frozen=True):
    image_id: str
    name: str | None | UnsetType = UNSET
    visibility: str | UnsetType = UNSET
    protected: bool | UnsetType = UNSET
    os_hidden: bool | UnsetType = UNSET
    owner: str | None | UnsetType = UNSET
    container_format: str | None | UnsetType = UNSET
    disk_format: str | None | UnsetType = UNSET
    min_disk: int | UnsetType = UNSET
    min_ram: int | UnsetType = UNSET
    tags: tuple[str, ...] | UnsetType = UNSET
    properties: dict[str, str] | UnsetType = UNSET


class ImageTagAdded(Event, frozen=True):
    image_id: str
    tag: str


class ImageTagRemoved(Event, frozen=True):
    image_id: str
    tag: str


class ImageUploadStarted(Event, frozen=True):
    """The image is `saving`: one upload holds it until it ends in Activated or Aborted."""

    image_id: str


class ImageUploadAborted(Event, frozen=True):
    """The upload, staging or import failed or was cut off; no bytes were kept and the
    image is `queued`."""

    image_id: str
    reason: str


class ImageStageStarted(Event, frozen=True):
    """Data is being staged for the import API (`glance-direct`): the image is `uploading`
    until the data is staged or the staging ends in ImageUploadAborted."""

    image_id: str


class ImageImportStarted(Event, frozen=True):
    """A web-download import was asked for: the image is `importing` until the importer
    (service/image/importer.py) activates it with the bytes it fetched from `uri`, or
    gives it back to `queued` (ImageUploadAborted)."""

    image_id: str
    method: str
    uri: str
    stores: tuple[str, ...] = ()
    """The stores to import to; none: the default store."""
    all_stores_must_succeed: bool = True
    task_id: str | None = None
    """The task (`POST /v2/tasks`, service/image/task_events.py) that started it, if any."""


class ImageStaged(Event, frozen=True):
    """The staged bytes are stored under `location`; the image stays `uploading` until an
    import activates it (with these figures) or aborts it."""

    image_id: str
    location: str
    size: int
    checksum: str
    os_hash_algo: str
    os_hash_value: str


class ImageActivated(Event, frozen=True):
    """The bytes are stored under `location` in each of `stores`; the image is `active`.
    An import that could not store them in `failed_stores` went on without those."""

    image_id: str
    location: str
    size: int
    checksum: str
    os_hash_algo: str
    os_hash_value: str
    stores: tuple[str, ...] = (DEFAULT_STORE,)
    failed_stores: tuple[str, ...] = ()


class ImageCopyStarted(Event, frozen=True):
    """The `copy-image` import of an active image's bytes to `stores` began; the importer
    (service/image/importer.py) copies them. With `all_stores_must_succeed`, the first
    store that fails ends it: the rest fail too."""

    image_id: str
    stores: tuple[str, ...]
    all_stores_must_succeed: bool = True


class ImageCopiedToStore(Event, frozen=True):
    """The image's bytes are stored under its location in `store` too."""

    image_id: str
    store: str


class ImageCopyFailed(Event, frozen=True):
    """A copy of the image's bytes to `store` failed; nothing was kept there."""

    image_id: str
    store: str
    reason: str


class ImageRemovedFromStore(Event, frozen=True):
    """The image's bytes are no longer kept in `store`; they are deleted after."""

    image_id: str
    store: str


class ImageDeactivated(Event, frozen=True):
    image_id: str


class ImageReactivated(Event, frozen=True):
    image_id: str


class ImageDeleted(Event, frozen=True):
    """The image is gone from the catalog; its bytes (`location`, if any, in `stores`, or
    staged in the default store if none) are deleted after."""

    image_id: str
    location: str | None = None
    stores: tuple[str, ...] = ()


class ImageMemberAdded(Event, frozen=True):
    image_id: str
    member_id: str


class ImageMemberStatusChanged(Event, frozen=True):
    image_id: str
    member_id: str
    status: str


class ImageMemberRemoved(Event, frozen=True):
    image_id: str
    member_id: str


class ImageQuotaClaimed(Event, frozen=True):
    """A share of the project's image quota taken, on its `imagequota-<project id>` stream:
    one image when it is created (`images`), its bytes when it is activated (`size`)."""

    project_id: str
    image_id: str
    images: int = 0
    size: int = 0
