"""Unified-limit events (Keystone's registered limits and limits). Streams:
`registeredlimit-<id>` and `limit-<id>`.

Updates carry only the fields that changed (msgspec UNSET is omitted when encoded).
"""

from msgspec import UNSET, UnsetType

from events.types import Event


class RegisteredLimitCreated(Event, frozen=True):
    """A service's default limit of a resource, for every project without its own."""

    registered_limit_id: str
    service_id: str
    resource_name: str
    default_limit: int
    region_id: str | None = None
    description: str | None = None


class RegisteredLimitUpdated(Event, frozen=True):
    registered_limit_id: str
    service_id: str | UnsetType = UNSET
    resource_name: str | UnsetType = UNSET
    default_limit: int | UnsetType = UNSET
    region_id: str | None | UnsetType = UNSET
    description: str | None | UnsetType = UNSET


class RegisteredLimitDeleted(Event, frozen=True):
    registered_limit_id: str


class LimitCreated(Event, frozen=True):
    """A project's (or a domain's) own limit of a resource, in place of the default."""

    limit_id: str
    service_id: str
    resource_name: str
    resource_limit: int
    project_id: str | None = None
    domain_id: str | None = None
    region_id: str | None = None
    description: str | None = None


class LimitUpdated(Event, frozen=True):
    limit_id: str
    resource_limit: int | UnsetType = UNSET
    description: str | None | UnsetType = UNSET


class LimitDeleted(Event, frozen=True):
    limit_id: str
