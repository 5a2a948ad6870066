"""Reaching a container's objects: owner, container ACL or temp URL; then the object."""

from aiohttp import web

from service.errors import NotFound, Unauthorized
from service.objects import acl, tempurl
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


async def container_and_object(
    request: web.Request, *, write: bool
) -> tuple[rm.Container, rm.StoredObject | None]:
    """The path's container (as `container_for`) and its object's current version, expired
    or not (None: there is none), read together."""
    project_id = project_of(request)
    found, row = await rm.container_and_object(
        db(request), project_id, request.match_info["container"], request.match_info["object"]
    )
    by_temp_url = tempurl.is_temp_url(request)
    container = await _allowed(request, project_id, found, write=write, by_temp_url=by_temp_url)
    return container, row


async def container_and_current(
    request: web.Request, *, write: bool
) -> tuple[rm.Container, rm.StoredObject]:
    """The path's container (as `container_for`) and object (as `current`), read together."""
    container, row = await container_and_object(request, write=write)
    return container, _unexpired(request, row)


async def _allowed(
    request: web.Request,
    project_id: str,
    found: rm.Container | None,
    *,
    write: bool,
    by_temp_url: bool,
) -> rm.Container:
    metadata = found.metadata if found else {}
    if by_temp_url:
        account = await rm.account(db(request), project_id)
        keys = tempurl.keys_of(account.metadata, metadata)
        if not tempurl.allows(request, keys, now(request).timestamp()):
            raise Unauthorized("Temp URL invalid")
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
