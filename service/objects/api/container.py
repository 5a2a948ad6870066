"""Containers: `/v1/AUTH_<project>/<container>` PUT, HEAD, GET (object listing), POST
and DELETE (409 while it holds objects)."""

from collections.abc import Sequence
from urllib.parse import unquote

from aiohttp import web

from service.errors import BadRequest, Conflict, NotFound
from service.http.keys import STORE
from service.objects import acl, versioning
from service.objects import directory as rm
from service.objects.api import extract, formpost, staticweb, versions
from service.objects.api.common import (
    auth,
    db,
    denied,
    header_case,
    must_get_container,
    now,
    policies,
    project_of,
    record,
    require_owner,
    usage_headers,
)
from service.objects.api.reading import answer
from service.objects.events import ContainerCreated, ContainerDeleted, ContainerMetadataUpdated
from service.objects.expiry import reap_expired
from service.objects.headers import (
    CONTAINER_SYSTEM,
    MetadataChange,
    check_limits,
    metadata_change,
)
from service.objects.listing import Subdir, collect, listing_query, render
from service.objects.naming import check_container_name, container_stream

routes = web.RouteTableDef()
CONTAINER = "/v1/AUTH_{project_id}/{container}"
_QUOTAS = ("x-container-meta-quota-bytes", "x-container-meta-quota-count")
_OWNER_ONLY = frozenset(CONTAINER_SYSTEM) | {
    "x-container-meta-temp-url-key",
    "x-container-meta-temp-url-key-2",
}


def _change(request: web.Request, metadata: dict[str, str]) -> MetadataChange:
    """The metadata change the request asks for, checked: integer quotas, one versioning
    mode at most, container names as versions locations; raises BadRequest.
    X-Versions-Enabled is kept as `True` or `False` once given (versioning.py)."""
    change = metadata_change(request.headers, "container", CONTAINER_SYSTEM)
    if "X-Versions-Enabled" in request.headers:
        change.set[versioning.ENABLED] = versioning.flag(request.headers["X-Versions-Enabled"])
    for quota in _QUOTAS:
        if quota in change.set and not change.set[quota].isdigit():
            raise BadRequest(f"Invalid {header_case(quota)}: it must be an integer.")
    for mode in ("x-versions-location", "x-history-location"):
        if mode in change.set:
            change.set[mode] = unquote(change.set[mode])
            check_container_name(change.set[mode])
    merged = change.applied_to(metadata)
    if "x-versions-location" in merged and "x-history-location" in merged:
        raise BadRequest("Only one of X-Versions-Location or X-History-Location may be set.")
    versioning.check(merged)
    check_limits(merged, "container")
    return change


def container_headers(container: rm.CountedContainer, owner: bool) -> dict[str, str]:
    """The headers of a HEAD of the container (its owner sees every metadata header)."""
    headers = usage_headers(
        "Container", container.object_count, container.bytes_used, container.created_at
    )
    headers["X-Storage-Policy"] = container.storage_policy
    headers.update(
        {header_case(k): v for k, v in container.metadata.items() if owner or k not in _OWNER_ONLY}
    )
    return headers


async def readable(request: web.Request) -> tuple[rm.CountedContainer, bool]:
    """The container and whether the caller owns it; 401/403 unless its read ACL lets
    the caller list it, 404 for the owner when it does not exist."""
    project_id = project_of(request)
    owner = acl.owns(auth(request), project_id)
    found = await rm.container(db(request), project_id, request.match_info["container"])
    metadata = found.metadata if found else {}
    referer = request.headers.get("Referer")
    if not acl.may_read(auth(request), project_id, metadata, referer=referer, listing=True):
        raise denied(request)
    if found is None:
        raise NotFound("The resource could not be found.")
    return found, owner


@routes.put(CONTAINER)
@routes.put(CONTAINER + "/")
async def create_container(request: web.Request) -> web.StreamResponse:
    """201 when created under the storage policy X-Storage-Policy names (else the
    default one), 202 when it existed (its metadata is then updated); 400 for a policy
    that does not exist, 409 for another than the existing container's, as Swift's.
    `?extract-archive` unpacks into it (extract.py)."""
    if "extract-archive" in request.query:
        return await extract.extract(request, request.match_info["container"])
    project_id = require_owner(request)
    name = request.match_info["container"]
    check_container_name(name)
    policy = policies(request).chosen(request.headers)
    found = await rm.container(db(request), project_id, name)
    if found is not None and policy not in (None, found.storage_policy):
        raise Conflict("There was a conflict when trying to complete your request.")
    change = _change(request, found.metadata if found else {})
    stream = container_stream(project_id, name)
    if found is None:
        created = ContainerCreated(
            project_id=project_id,
            container=name,
            metadata=change.set,
            storage_policy=policy or policies(request).default,
        )
        await record(request, stream, [created])
        return web.Response(status=201)
    if change.set or change.removed:
        await record(
            request,
            stream,
            [
                ContainerMetadataUpdated(
                    project_id=project_id, container=name, set=change.set, removed=change.removed
                )
            ],
        )
    return web.Response(status=202)


async def _web_site(request: web.Request) -> web.StreamResponse | None:
    """staticweb's answer to a web request of a static web site; None otherwise."""
    if not staticweb.applies(request):
        return None
    return await staticweb.get_container(request, answer)


@routes.head(CONTAINER)
@routes.head(CONTAINER + "/")
async def head_container(request: web.Request) -> web.StreamResponse:
    """204 with the container's usage and metadata; a web request of a static web
    site is staticweb.py's."""
    if (site := await _web_site(request)) is not None:
        return site
    container, owner = await readable(request)
    return web.Response(status=204, headers=container_headers(container, owner))


@routes.get(CONTAINER, allow_head=False)
@routes.get(CONTAINER + "/", allow_head=False)
async def list_objects(request: web.Request) -> web.StreamResponse:
    """The listing in the format asked for, or with `?versions` every version
    (versions.py); a web request of a static web site is staticweb.py's."""
    if (site := await _web_site(request)) is not None:
        return site
    container, owner = await readable(request)
    query = listing_query(request)
    at = now(request).timestamp()

    async def fetch(page: rm.Page, limit: int) -> list[rm.StoredObject]:
        return await rm.objects_page(
            db(request), container.project_id, container.name, page, limit, at
        )

    entries: Sequence[rm.StoredObject | Subdir]
    if "versions" in request.query:
        entries = await versions.listing(request, container, query)
    else:
        entries = await collect(fetch, query)
    return render(
        entries,
        query,
        root="container",
        name=container.name,
        headers=container_headers(container, owner),
    )


@routes.post(CONTAINER)
@routes.post(CONTAINER + "/")
async def update_container(request: web.Request) -> web.Response:
    """204: the container's metadata changed; a form upload is formpost.py's."""
    if formpost.is_form(request):
        return await formpost.post_form(request)
    project_id = require_owner(request)
    container = await must_get_container(request, project_id, request.match_info["container"])
    change = _change(request, container.metadata)
    if change.set or change.removed:
        await record(
            request,
            container_stream(project_id, container.name),
            [
                ContainerMetadataUpdated(
                    project_id=project_id,
                    container=container.name,
                    set=change.set,
                    removed=change.removed,
                )
            ],
        )
    return web.Response(status=204)


@routes.delete(CONTAINER)
@routes.delete(CONTAINER + "/")
async def delete_container(request: web.Request) -> web.Response:
    """204; 404 if missing, 409 while it holds objects (expired ones are reaped first)."""
    await remove_container(request, require_owner(request), request.match_info["container"])
    return web.Response(status=204)


async def remove_container(request: web.Request, project_id: str, name: str) -> None:
    """Delete the container: 404 if missing, 409 while it holds objects (expired ones
    are reaped first)."""
    container = await must_get_container(request, project_id, name)
    await reap_expired(
        request.config_dict[STORE],
        policies(request),
        now(request).timestamp(),
        project_id,
        container.name,
    )
    await record(
        request,
        container_stream(project_id, container.name),
        [ContainerDeleted(project_id=project_id, container=container.name)],
    )
