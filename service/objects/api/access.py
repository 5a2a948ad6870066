"""Reaching a container's objects: owner, container ACL or temp URL; then the object,
and what a symlink leads to."""

import msgspec
from aiohttp import web

from service.errors import Conflict, NotFound, Unauthorized
from service.objects import acl, symlink, tempurl
from service.objects import directory as rm
from service.objects.api.common import auth, db, denied, now, project_of


async def container_for(
    request: web.Request, *, write: bool, name: str | None = None
) -> rm.Container:
    """The container (the path's unless `name` is given) once the caller may read or
    `write` its objects: 401/403 otherwise (a temp URL that does not verify is 401),
    then 404 when it does not exist."""
    project_id = project_of(request)
    by_temp_url = name is None and tempurl.is_temp_url(request)
    name = request.match_info["container"] if name is None else name
    found = await rm.container(db(request), project_id, name)
    return await _allowed(request, project_id, found, write=write, by_temp_url=by_temp_url)


class Located(msgspec.Struct, frozen=True):
    """An object's place once the caller may use it: its container, its current version
    there (None: none; expired or not) and the account's metadata (quotas)."""

    container: rm.Container
    row: rm.StoredObject | None
    account_metadata: dict[str, str]


async def locate(
    request: web.Request, *, write: bool, container: str | None = None, name: str | None = None
) -> Located:
    """The path's object (or `name` in `container` of the same account), its container
    checked as `container_for` does, all read in one round trip."""
    project_id = project_of(request)
    by_temp_url = container is None and tempurl.is_temp_url(request)
    found = await rm.found(
        db(request),
        project_id,
        request.match_info["container"] if container is None else container,
        request.match_info["object"] if name is None else name,
    )
    checked = await _allowed(
        request,
        project_id,
        found.container,
        write=write,
        by_temp_url=by_temp_url,
        account_metadata=found.account_metadata,
    )
    return Located(checked, found.object, found.account_metadata)


async def container_and_current(
    request: web.Request, *, write: bool
) -> tuple[rm.Container, rm.StoredObject]:
    """The path's container (as `container_for`) and object (as `current`), read together."""
    located = await locate(request, write=write)
    return located.container, _unexpired(request, located.row)


async def _allowed(
    request: web.Request,
    project_id: str,
    found: rm.Container | None,
    *,
    write: bool,
    by_temp_url: bool,
    account_metadata: dict[str, str] | None = None,
) -> rm.Container:
    """`found` once the caller may use it (401/403, then 404 when None); the account's
    metadata is read for a temp URL unless given."""
    metadata = found.metadata if found else {}
    if by_temp_url:
        if account_metadata is None:
            account_metadata = (await rm.account(db(request), project_id)).metadata
        keys = tempurl.keys_of(account_metadata, metadata)
        if not tempurl.allows(request, keys, now(request).timestamp()):
            raise Unauthorized("Temp URL invalid")
        tempurl.check_headers(request)
    elif write:
        if not acl.may_write(auth(request), project_id, metadata):
            raise denied(request)
    elif not acl.may_read(
        auth(request), project_id, metadata, referer=request.headers.get("Referer")
    ):
        raise denied(request)
    if found is None:
        raise NotFound()
    return found


async def current(request: web.Request, container: rm.Container, name: str) -> rm.StoredObject:
    """The object's current version; NotFound when there is none or it has expired."""
    row = await rm.stored_object(db(request), container.project_id, container.name, name)
    return _unexpired(request, row)


def _unexpired(request: web.Request, row: rm.StoredObject | None) -> rm.StoredObject:
    if row is None or row.expired(now(request).timestamp()):
        raise NotFound()
    return row


async def reach(
    request: web.Request, target: symlink.Target, origin: tuple[str, str]
) -> rm.StoredObject:
    """A symlink's target once the caller may read it: 401/403 as for a GET of it (a
    temp URL reaches no further than the link's own container, `origin`: project and
    container), then 404 when it is absent or expired; 409 when a static link's etag is
    not the target's."""
    if tempurl.is_temp_url(request) and (target.project_id, target.container) != origin:
        raise Unauthorized("Temp URL invalid")
    found = await rm.found(db(request), target.project_id, target.container, target.name)
    if not tempurl.is_temp_url(request):
        await _allowed(request, target.project_id, found.container, write=False, by_temp_url=False)
    row = _unexpired(request, found.object)
    if target.etag is not None and row.etag != target.etag:
        raise Conflict(
            f"Object Etag {row.etag!r} does not match X-Symlink-Target-Etag header {target.etag!r}"
        )
    return row


async def resolved(
    request: web.Request, row: rm.StoredObject
) -> tuple[rm.StoredObject, symlink.Target | None]:
    """The object `row` leads to through its symlinks (itself when it is none), and the
    last link's target; 409 past symlink.SYMLOOP_MAX links, else as `reach`."""
    last = None
    for hop in range(symlink.SYMLOOP_MAX + 1):
        target = symlink.target_of(row.metadata)
        if target is None:
            break
        if hop == symlink.SYMLOOP_MAX:
            raise Conflict(
                f"Too many levels of symbolic links, maximum allowed is {symlink.SYMLOOP_MAX}"
            )
        row, last = await reach(request, target, (row.project_id, row.container)), target
    return row, last
