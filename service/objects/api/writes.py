"""Changing objects: bytes first, then the event, then the replaced bytes go.

A new version is written under a fresh key, on the backend of its container's storage
policy, and becomes visible only when its ObjectStored event commits; the bytes it
replaces are deleted after that commit. A crash in between leaves at most an
unreferenced blob, never a listing entry without bytes.
Legacy versioned containers (X-Versions-Location: stack; X-History-Location: history)
get a copy of each replaced or deleted version first. In a container with object
versioning (X-Versions-Enabled, service/objects/versioning.py) the replaced or deleted
version stays where it is, a noncurrent version of its object: its bytes are kept.
"""

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

import msgspec
from aiohttp import web

from events.errors import WrongExpectedVersion
from events.store import NO_STREAM
from service.errors import (
    Conflict,
    NotFound,
    PreconditionFailed,
    RequestEntityTooLarge,
    error_for_status,
)
from service.http.keys import STORE
from service.objects import directory as rm
from service.objects import quota, versioning
from service.objects.api.access import Located
from service.objects.api.common import (
    OBJECT_HASHES,
    backend_of,
    db,
    new_version_id,
    now,
    policies,
    record,
)
from service.objects.events import ObjectDeleted, ObjectStored, ObjectVersionDeleted
from service.objects.headers import x_timestamp
from service.objects.known import known
from service.objects.large_object import part_of
from service.objects.naming import blob_key, object_stream
from service.objects.policy import StoragePolicies, UnknownPolicy
from service.objects.projection import MustBeVersioned
from service.objects.segments import Part, read_parts
from service.storage.backend import ChecksumMismatch, ObjectBackend, StoredObject

log = logging.getLogger("kumo.objects")

Writer = Callable[[ObjectBackend, str], Awaitable[StoredObject]]
"""Stores the new version's bytes under the key it is given, on the backend it is given
(its container's storage policy's)."""


class Version(msgspec.Struct, frozen=True):
    """A version made current, and when."""

    event: ObjectStored
    at: datetime


class Attributes(msgspec.Struct, frozen=True, kw_only=True):
    """What a new version is besides its bytes."""

    content_type: str
    metadata: dict[str, str] = {}
    delete_at: int | None = None
    large_object: str = ""
    etag: str | None = None
    """The etag to record instead of the bytes' md5 (copies, large objects)."""
    size: int | None = None
    """The size to record instead of the bytes' size (static large objects)."""


async def check_quotas(request: web.Request, place: Located, size: int) -> None:
    """Raises RequestEntityTooLarge (413) when storing `size` bytes in place of the
    current version would exceed the container's or the account's quota, as their usage
    now stands (read only where there is a quota). This refuses early, before the bytes
    are stored; the append enforces the quotas exactly (service/objects/quota.py)."""
    container, previous = place.container, place.row
    replaced = previous.size if previous and not keeps(container, previous) else 0
    for limits, usage in (
        (quota.container_limits(container.metadata), _container_usage),
        (quota.account_limits(place.account_metadata), _account_usage),
    ):
        if limits.any:
            bytes_used, object_count = await usage(request, container)
            if limits.exceeded(
                bytes_used - replaced + size, object_count + 1, new_object=previous is None
            ):
                raise RequestEntityTooLarge("Upload exceeds quota.")


async def _container_usage(request: web.Request, container: rm.Container) -> tuple[int, int]:
    counted = await rm.container(db(request), container.project_id, container.name)
    if counted is None:
        raise NotFound("The container does not exist.")
    return counted.bytes_used, counted.object_count


async def _account_usage(request: web.Request, container: rm.Container) -> tuple[int, int]:
    account = await rm.account(db(request), container.project_id)
    return account.bytes_used, account.object_count


async def discard(request: web.Request, part: Part) -> None:
    """Delete bytes no version references any more, after the event that replaced or
    deleted them committed; a failure is logged and left to the orphan reaper
    (service/objects/orphan.py), since the request's change already holds."""
    try:
        await policies(request).backend(part.policy).delete(part.key)
    except Exception:
        log.exception("replaced bytes not deleted; the orphan reaper will", extra={"key": part.key})


async def copy_blob(
    policies: StoragePolicies, part: Part, backend: ObjectBackend, key: str
) -> StoredObject:
    """A copy of the blob of `part` under `key` on `backend`: made by the backend itself
    when the part is on it, else streamed across (between storage policies)."""
    source = policies.backend(part.policy)
    if source is backend:
        return await backend.copy(part.key, key)
    async with await source.get(part.key) as reader:
        return await backend.put(key, reader, size_hint=reader.size, hashes=OBJECT_HASHES)


def copier(request: web.Request, parts: list[Part], size: int, plain: bool) -> Writer:
    """Writes a copy of the bytes of `parts` (`size` in all): a `plain` object's one blob
    as `copy_blob` copies it, a large object's streamed from its segments."""

    async def write(backend: ObjectBackend, key: str) -> StoredObject:
        if plain:
            return await copy_blob(policies(request), parts[0], backend, key)
        chunks = read_parts(policies(request), parts, 0, size - 1)
        return await backend.put(key, chunks, size_hint=size, hashes=OBJECT_HASHES)

    return write


def keeps(container: rm.Container, replaced: rm.StoredObject) -> bool:
    """Whether a new version or a DELETE in the container keeps the current version it
    replaces (fold.kept): its bytes, and what it refers to, must stay."""
    return replaced.versioned or versioning.enabled(container.metadata)


def _stored_event(
    project_id: str,
    container: str,
    name: str,
    version_id: str,
    stored: StoredObject,
    attrs: Attributes,
    *,
    versioned: bool = False,
) -> ObjectStored:
    """The event recording `stored` as the object's version `version_id`, `versioned`
    when its container's versioning is enabled."""
    md5 = stored.hashes.md5 if stored.hashes else stored.etag.strip('"')
    return ObjectStored(
        project_id=project_id,
        container=container,
        object=name,
        version_id=version_id,
        size=stored.size if attrs.size is None else attrs.size,
        etag=attrs.etag or md5,
        content_type=attrs.content_type,
        metadata=attrs.metadata,
        large_object=attrs.large_object,
        delete_at=attrs.delete_at,
        versioned=versioned,
    )


async def _commit(
    request: web.Request,
    container: rm.Container,
    name: str,
    version_id: str,
    stored: StoredObject,
    attrs: Attributes,
    *,
    answer: int | None = None,
) -> Version:
    """Append ObjectStored for bytes already under the version's key on the container's
    backend (with the request's audit record when `answer` is its certain status); on
    failure the bytes are removed and the error re-raised (409 when the container's
    versioning was enabled meanwhile)."""
    versioned = versioning.enabled(container.metadata)
    event = _stored_event(
        container.project_id, container.name, name, version_id, stored, attrs, versioned=versioned
    )
    stream = object_stream(container.project_id, container.name, name)
    try:
        at = await record(request, stream, [event], answer=answer)
    except MustBeVersioned:
        await backend_of(request, container).delete(stored.key)
        raise Conflict("The container's versioning changed; try again.") from None
    except BaseException:
        await backend_of(request, container).delete(stored.key)
        raise
    return Version(event, at)


async def _written(
    request: web.Request, write: Writer, backend: ObjectBackend, key: str
) -> StoredObject:
    """The bytes stored under `key` on `backend` by `write`; 422 (nothing kept) on an md5
    mismatch."""
    try:
        return await write(backend, key)
    except ChecksumMismatch:
        raise error_for_status(422, "The Etag you sent does not match the object's MD5.") from None


async def put_version(
    request: web.Request,
    place: Located,
    name: str,
    write: Writer,
    attrs: Attributes,
    *,
    known_size: int | None,
    answer: int | None = 201,
) -> Version:
    """Store a new version of `name` in the place's container (on its storage policy's
    backend) instead of its current version (as read before, expired or not) and make
    it current; the request then answers `answer` (its audit record commits with the
    version; None: not known yet).

    Quotas are checked before the bytes are read when `known_size` is given, after they
    are stored otherwise (413, nothing kept). An md5 mismatch is 422 with nothing kept.
    """
    container = place.container
    if known_size is not None:
        await check_quotas(request, place, known_size)
    version_id = new_version_id(request)
    key = blob_key(container.project_id, container.name, name, version_id)
    stored = await _written(request, write, backend_of(request, container), key)
    return await _make_current(
        request,
        place,
        name,
        version_id,
        stored,
        attrs,
        quotas_checked=known_size is not None,
        answer=answer,
    )


async def _make_current(
    request: web.Request,
    place: Located,
    name: str,
    version_id: str,
    stored: StoredObject,
    attrs: Attributes,
    *,
    quotas_checked: bool,
    answer: int | None = 201,
) -> Version:
    """`put_version` once the bytes are stored: quotas (unless checked before), the
    replaced version archived, the event, the replaced bytes discarded."""
    container, previous = place.container, place.row
    if not quotas_checked:
        try:
            await check_quotas(request, place, stored.size)
        except RequestEntityTooLarge:
            await backend_of(request, container).delete(stored.key)
            raise
    if previous is not None and not previous.expired(now(request).timestamp()):
        await _archive(request, container, previous)
    version = await _commit(request, container, name, version_id, stored, attrs, answer=answer)
    if previous is not None and not keeps(container, previous):
        await discard(request, part_of(previous))
    return version


async def put_new(
    request: web.Request,
    project_id: str,
    container: str,
    name: str,
    write: Writer,
    attrs: Attributes,
    locate: Callable[[], Awaitable[Located]],
) -> Version:
    """`put_version` for a caller that may write (the account's owner) and a small body,
    without reading the container and the object first: the bytes are stored, then the
    event appended on condition that the object's stream does not exist yet (a name
    never used: nothing to replace, archive or discard; names known to be used go the
    usual way at once, service/objects/known.py). The append still refuses a missing
    container (404) and enforces the quotas exactly (413); either way nothing is kept.
    A name with a history, or in a container whose versioning is enabled, is `locate`d
    then (ACL, 404) and the stored bytes made current as `put_version` does. The request
    then answers 201.

    Only while one storage policy is configured (the caller's to check): the bytes go to
    its backend, which is then every container's (a container's policy that is not
    configured any more is 503, UnknownPolicy, once it is read)."""
    policy = policies(request).default
    backend = policies(request).backend(policy)
    version_id = new_version_id(request)
    key = blob_key(project_id, container, name, version_id)
    stored = await _written(request, write, backend, key)
    event = _stored_event(project_id, container, name, version_id, stored, attrs)
    stream = object_stream(project_id, container, name)
    names = known(request.config_dict[STORE])
    try:
        if stream not in names:
            try:
                at = await record(request, stream, [event], NO_STREAM, answer=201)
            except (WrongExpectedVersion, MustBeVersioned):
                pass
            else:
                names.add(stream)
                return Version(event, at)
        place = await locate()
        if place.container.storage_policy != policy:
            raise UnknownPolicy(place.container.storage_policy)
    except BaseException:
        await backend.delete(stored.key)
        raise
    version = await _make_current(
        request, place, name, version_id, stored, attrs, quotas_checked=False
    )
    names.add(stream)
    return version


async def copy_version(
    request: web.Request, source: rm.StoredObject, container: rm.Container, name: str
) -> Version:
    """Copy a stored version as it is (bytes, metadata, etag) to `container`/`name`, on
    that container's policy's backend, without archiving what it replaces; the caller
    deals with the replaced bytes."""
    version_id = new_version_id(request)
    key = blob_key(container.project_id, container.name, name, version_id)
    target = backend_of(request, container)
    stored = await copy_blob(policies(request), part_of(source), target, key)
    attrs = Attributes(
        content_type=source.content_type,
        metadata=source.metadata,
        delete_at=source.delete_at,
        large_object=source.large_object,
        etag=source.etag,
        size=source.size,
    )
    return await _commit(request, container, name, version_id, stored, attrs)


async def _versions_container(request: web.Request, container: rm.Container) -> rm.Container | None:
    location = container.metadata.get("x-versions-location") or container.metadata.get(
        "x-history-location"
    )
    if location is None:
        return None
    found = await rm.container(db(request), container.project_id, location)
    if found is None:
        raise PreconditionFailed(f"The versions container {location} does not exist.")
    return found


def _versions_prefix(name: str) -> str:
    return f"{len(name.encode()):03x}{name}/"


async def _archive(request: web.Request, container: rm.Container, row: rm.StoredObject) -> None:
    """Keep a copy of the version about to be replaced, if the container is versioned."""
    versions = await _versions_container(request, container)
    if versions is not None:
        archived = _versions_prefix(row.name) + x_timestamp(row.last_modified)
        await copy_version(request, row, versions, archived)


async def remove(request: web.Request, row: rm.StoredObject, *, answer: int | None = None) -> None:
    """Delete the current version: its event (with the request's audit record when
    `answer` is its certain status), then its bytes unless it is versioned (it is then
    kept, a noncurrent version) or kept all the same: a write racing this one may have
    replaced it meanwhile, in a container whose versioning was enabled since it was
    read."""
    deleted = ObjectDeleted(
        project_id=row.project_id,
        container=row.container,
        object=row.name,
        version_id=row.version_id,
    )
    stream = object_stream(row.project_id, row.container, row.name)
    await record(request, stream, [deleted], answer=answer)
    if not row.versioned:
        part = part_of(row)
        blob = rm.Blob(part.key, row.project_id, row.container, row.name, row.version_id)
        if await rm.unreferenced(db(request), [blob], part.policy):
            await discard(request, part)


async def remove_version(request: web.Request, version: rm.ObjectVersion) -> None:
    """Delete one version for good, current or not (`?version-id=`), then its bytes; the
    request then answers 204."""
    deleted = ObjectVersionDeleted(
        project_id=version.project_id,
        container=version.container,
        object=version.name,
        version_id=version.version_id,
    )
    stream = object_stream(version.project_id, version.container, version.name)
    await record(request, stream, [deleted], answer=204)
    if not version.marker:
        await discard(request, part_of(version))


async def delete_object(
    request: web.Request, container: rm.Container, row: rm.StoredObject
) -> str | None:
    """DELETE as Swift versioning has it: with object versioning enabled the current
    version is kept behind a delete marker, whose id it returns; in stack mode the
    newest archived version comes back in its place; in history mode the deleted version
    is archived first. The request then answers 204."""
    if versioning.enabled(container.metadata):
        return await delete_current(request, container, row, answer=204)
    await _delete_legacy(request, container, row)
    return None


async def delete_current(
    request: web.Request, container: rm.Container, row: rm.StoredObject, *, answer: int | None
) -> str | None:
    """Delete the current version, ignoring legacy versioning: where object versioning is
    enabled, keep it behind a new delete marker and return the marker's id; else as
    `remove` (with the request's audit record when `answer` is its certain status)."""
    if not versioning.enabled(container.metadata):
        await remove(request, row, answer=answer)
        return None
    marker = new_version_id(request)
    deleted = ObjectDeleted(
        project_id=row.project_id,
        container=row.container,
        object=row.name,
        version_id=row.version_id,
        marker=marker,
    )
    stream = object_stream(row.project_id, row.container, row.name)
    await record(request, stream, [deleted], answer=answer)
    return marker


async def _delete_legacy(
    request: web.Request, container: rm.Container, row: rm.StoredObject
) -> None:
    """DELETE where object versioning is not enabled: legacy stack or history mode, or
    none."""
    versions = await _versions_container(request, container)
    if versions is None:
        return await remove(request, row, answer=204)
    if "x-history-location" in container.metadata:
        await _archive(request, container, row)
        return await remove(request, row, answer=204)
    page = rm.Page(prefix=_versions_prefix(row.name), reverse=True)
    at = now(request).timestamp()
    newest = await rm.objects_page(db(request), versions.project_id, versions.name, page, 1, at)
    if not newest:
        return await remove(request, row, answer=204)
    await copy_version(request, newest[0], container, row.name)
    await discard(request, part_of(row))
    await remove(request, newest[0], answer=204)
