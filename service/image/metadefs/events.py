"""Metadefs events. One stream per namespace, `metadef-<uuid>` (the uuid is Kumo's: a
namespace is renamed by its update, so its name cannot name its stream); its objects,
properties, tags and resource type associations are recorded on it too, each by name.
One stream per resource type, `metadefrt-<name>`, holding only its creation.

Property schemas are JSON objects as Glance's property schema describes them
(`type`, `title`, `enum`, `items`, `minimum`...), validated before they are recorded.
"""

from typing import Any

from events.types import Event


class MetadefNamespaceCreated(Event, frozen=True):
    namespace_id: str
    namespace: str
    owner: str | None
    display_name: str | None = None
    description: str | None = None
    visibility: str = "private"
    protected: bool = False


class MetadefNamespaceUpdated(Event, frozen=True):
    """Glance's update replaces every attribute: these are all of them, as they now are."""

    namespace_id: str
    namespace: str
    owner: str | None
    display_name: str | None = None
    description: str | None = None
    visibility: str = "private"
    protected: bool = False


class MetadefNamespaceDeleted(Event, frozen=True):
    """The namespace is gone with all it held; its name may be taken again."""

    namespace_id: str


class MetadefObjectCreated(Event, frozen=True):
    namespace_id: str
    name: str
    description: str | None = None
    required: tuple[str, ...] | None = None
    properties: dict[str, dict[str, Any]] | None = None


class MetadefObjectUpdated(Event, frozen=True):
    """The object once called `name` is now all of this (`new_name` may equal `name`)."""

    namespace_id: str
    name: str
    new_name: str
    description: str | None = None
    required: tuple[str, ...] | None = None
    properties: dict[str, dict[str, Any]] | None = None


class MetadefObjectDeleted(Event, frozen=True):
    namespace_id: str
    name: str


class MetadefPropertyCreated(Event, frozen=True):
    namespace_id: str
    name: str
    schema: dict[str, Any]


class MetadefPropertyUpdated(Event, frozen=True):
    """The property once called `name` is now `new_name` with this schema."""

    namespace_id: str
    name: str
    new_name: str
    schema: dict[str, Any]


class MetadefPropertyDeleted(Event, frozen=True):
    namespace_id: str
    name: str


class MetadefTagCreated(Event, frozen=True):
    namespace_id: str
    name: str


class MetadefTagRenamed(Event, frozen=True):
    namespace_id: str
    name: str
    new_name: str


class MetadefTagDeleted(Event, frozen=True):
    namespace_id: str
    name: str


class MetadefResourceTypeAssociated(Event, frozen=True):
    namespace_id: str
    name: str
    prefix: str | None = None
    properties_target: str | None = None


class MetadefResourceTypeDissociated(Event, frozen=True):
    namespace_id: str
    name: str


class MetadefResourceTypeCreated(Event, frozen=True):
    """A resource type namespaces may be associated with: seeded at bootstrap
    (`protected`), or made by the first association that names it."""

    name: str
    protected: bool = False
