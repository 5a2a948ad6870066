"""Swift's object versioning API: `?version-id=` on an object (GET, HEAD, DELETE, COPY's
source, PUT's to restore it; 400 for POST), `?versions` listings of a container (with
`version_marker`), and the X-Object-Version-Id header of answers
(service/objects/versioning.py)."""

from collections.abc import Mapping
from typing import Protocol

from aiohttp import web

from service.errors import BadRequest, NotFound
from service.objects import directory as rm
from service.objects import versioning
from service.objects.api.access import container_and_current, container_for
from service.objects.api.common import db, now
from service.objects.api.writes import remove, remove_version
from service.objects.fold import MARKER_TYPE
from service.objects.listing import Query, Subdir, collect

HEADER = "X-Object-Version-Id"


class Answer(Protocol):
    """How an object is answered (reading.answer)."""

    async def __call__(
        self,
        request: web.Request,
        row: rm.StoredObject,
        status: int = 200,
        *,
        shown: Mapping[str, str] = ...,
    ) -> web.StreamResponse: ...


def shown(container: rm.Container, row: rm.StoredObject) -> dict[str, str]:
    """The X-Object-Version-Id of the object's current version where versioning was
    ever set on its container, or the version is versioned."""
    if versioning.configured(container.metadata) or row.versioned:
        return {HEADER: row.shown_id}
    return {}


def _version_id(request: web.Request) -> str:
    """The `?version-id=` asked for; 400 when empty."""
    version_id = request.query[versioning.VERSION_ID]
    if not version_id:
        raise BadRequest("Invalid version-id.")
    return version_id


async def _version(request: web.Request, *, write: bool) -> rm.ObjectVersion:
    """The version the request names, once the caller may read (or `write`) its
    container; as `version_named`."""
    container = await container_for(request, write=write)
    return await version_named(
        request, container, request.match_info["object"], _version_id(request)
    )


async def version_named(
    request: web.Request, container: rm.Container, name: str, version_id: str
) -> rm.ObjectVersion:
    """The object's version `version_id` in a container the caller may use: 400 when
    versioning was never set there (but for `null`), 404 when there is no such version."""
    if version_id != "null" and not versioning.configured(container.metadata):
        raise BadRequest("version-aware operations require that the container is versioned")
    found = await rm.version_of(db(request), container.project_id, container.name, name, version_id)
    if found is None:
        raise NotFound()
    return found


async def get_version(request: web.Request, answer: Answer) -> web.StreamResponse:
    """GET or HEAD of one version, expired or not; 404 for a delete marker (with its id
    and content type, as Swift's)."""
    version = await _version(request, write=False)
    headers = {HEADER: version.shown_id}
    if version.marker:
        headers["Content-Type"] = MARKER_TYPE
        body = None if request.method == "HEAD" else b"<html><h1>Not Found</h1></html>"
        return web.Response(status=404, headers=headers, body=body)
    return await answer(request, version, shown=headers)


async def delete_version(request: web.Request) -> web.Response:
    """204: the version is gone for good (`null`: the current version stops being current,
    kept if versioned, as a DELETE while versioning is suspended); 404 when absent."""
    if _version_id(request) == "null":
        _, row = await container_and_current(request, write=True)
        await remove(request, row, answer=204)
        return web.Response(status=204, headers={HEADER: "null"})
    version = await _version(request, write=True)
    await remove_version(request, version)
    return web.Response(status=204, headers={HEADER: version.shown_id})


def refuse(request: web.Request) -> None:
    """400 for a POST naming a version, as Swift's."""
    if versioning.VERSION_ID in request.query:
        raise BadRequest(f"{request.method} to a specific version is not allowed")


async def listing(
    request: web.Request, container: rm.Container, query: Query
) -> list[rm.ObjectVersion | Subdir]:
    """The entries of `?versions`: every version of the page's objects by name, each
    object's newest first; after `marker` and `version_marker` when given."""
    version_marker = request.query.get("version_marker")
    if version_marker is not None and not query.page.marker:
        raise BadRequest("version_marker param requires marker")
    start, below = query.page.marker, None
    if version_marker:
        found = await rm.version_of(
            db(request), container.project_id, container.name, start, version_marker
        )
        below = found.rank if found else None
    at = now(request).timestamp()

    async def fetch(page: rm.Page, limit: int) -> list[rm.ObjectVersion]:
        first = page.marker == start
        return await rm.versions_page(
            db(request),
            container.project_id,
            container.name,
            page,
            limit,
            at,
            below if first else None,
        )

    return await collect(fetch, query)
