"""/v3/OS-EP-FILTER: endpoint groups, and which endpoints and groups a project is given.
A project given any sees only those in its tokens' catalog (service_catalog.py); the
others see every endpoint. Admins only, as in Keystone."""

from typing import Any, Literal

import msgspec
from aiohttp import web
from msgspec import UNSET, UnsetType

from events.store import NO_STREAM
from service.auth import caller
from service.errors import NotFound
from service.http.body import json_response, read_json
from service.identity import events as ev
from service.identity import views
from service.identity.api.common import base_url, filters, must_get, new_id, record, store
from service.identity.directory import Endpoint, EndpointGroup, Project, select
from service.identity.service_catalog import (
    matches,
    project_endpoint_groups,
    project_endpoints,
)
from service.policy import enforce

routes = web.RouteTableDef()
ROOT = "/v3/OS-EP-FILTER"
GROUPS = f"{ROOT}/endpoint_groups"
FilterKey = Literal["service_id", "interface", "region_id"]


class NewEndpointGroup(msgspec.Struct):
    name: str
    filters: dict[FilterKey, str]
    description: str = ""


class EndpointGroupChanges(msgspec.Struct):
    name: str | UnsetType = UNSET
    filters: dict[FilterKey, str] | UnsetType = UNSET
    description: str | UnsetType = UNSET


class CreateEndpointGroup(msgspec.Struct):
    endpoint_group: NewEndpointGroup


class UpdateEndpointGroup(msgspec.Struct):
    endpoint_group: EndpointGroupChanges


def _plain(filters: dict[FilterKey, str]) -> dict[str, str]:
    return {str(key): value for key, value in filters.items()}


def _admin(request: web.Request) -> None:
    enforce(caller(request), "identity:manage_endpoint_filter")


def _list(request: web.Request, path: str, key: str, items: list[Any]) -> web.Response:
    return json_response(views.collection(base_url(request), path, key, items))


async def _group(request: web.Request) -> EndpointGroup:
    _admin(request)
    return await must_get(request, EndpointGroup, request.match_info["group_id"])


def _group_body(request: web.Request, group: EndpointGroup) -> dict[str, Any]:
    return {"endpoint_group": views.endpoint_group(group, base_url(request))}


async def _projects_given(request: web.Request, table: str, column: str, key: str) -> list[Any]:
    """The projects `table` gives the thing `key` of `column`, as Keystone shows them."""
    where = f"id IN (SELECT project_id FROM {table} WHERE {column} = $1)"
    found = await select(store(request).pool, Project, where, key)
    return [views.project(p, base_url(request)) for p in found]


# --- endpoint groups -------------------------------------------------------------------


@routes.post(GROUPS)
async def create_group(request: web.Request) -> web.Response:
    _admin(request)
    body = (await read_json(request, CreateEndpointGroup)).endpoint_group
    group_id = new_id(request)
    created = ev.EndpointGroupCreated(
        endpoint_group_id=group_id,
        name=body.name,
        filters=_plain(body.filters),
        description=body.description,
    )
    await record(request, f"endpoint_group-{group_id}", [created], NO_STREAM)
    group = await must_get(request, EndpointGroup, group_id)
    return json_response(_group_body(request, group), status=201)


@routes.get(GROUPS)
async def list_groups(request: web.Request) -> web.Response:
    _admin(request)
    where, args = filters(request, "name")
    found = await select(store(request).pool, EndpointGroup, where, *args)
    items = [views.endpoint_group(g, base_url(request)) for g in found]
    return _list(request, "OS-EP-FILTER/endpoint_groups", "endpoint_groups", items)


@routes.get(GROUPS + "/{group_id}")
async def show_group(request: web.Request) -> web.Response:
    return json_response(_group_body(request, await _group(request)))


@routes.patch(GROUPS + "/{group_id}")
async def update_group(request: web.Request) -> web.Response:
    group = await _group(request)
    changes = (await read_json(request, UpdateEndpointGroup)).endpoint_group
    filters = changes.filters if isinstance(changes.filters, UnsetType) else _plain(changes.filters)
    updated = ev.EndpointGroupUpdated(
        endpoint_group_id=group.id,
        name=changes.name,
        filters=filters,
        description=changes.description,
    )
    await record(request, f"endpoint_group-{group.id}", [updated])
    return json_response(_group_body(request, await must_get(request, EndpointGroup, group.id)))


@routes.delete(GROUPS + "/{group_id}")
async def delete_group(request: web.Request) -> web.Response:
    group = await _group(request)
    deleted = ev.EndpointGroupDeleted(endpoint_group_id=group.id)
    await record(request, f"endpoint_group-{group.id}", [deleted])
    return web.Response(status=204)


@routes.get(GROUPS + "/{group_id}/endpoints")
async def group_endpoints(request: web.Request) -> web.Response:
    group = await _group(request)
    every = await select(store(request).pool, Endpoint)
    items = [views.endpoint(e, base_url(request)) for e in every if matches(group.filters, e)]
    return _list(request, f"OS-EP-FILTER/endpoint_groups/{group.id}/endpoints", "endpoints", items)


@routes.get(GROUPS + "/{group_id}/projects")
async def group_projects(request: web.Request) -> web.Response:
    group = await _group(request)
    items = await _projects_given(
        request, "rm_project_endpoint_groups", "endpoint_group_id", group.id
    )
    return _list(request, f"OS-EP-FILTER/endpoint_groups/{group.id}/projects", "projects", items)


# --- what a project is given ----------------------------------------------------------


async def _group_and_project(request: web.Request) -> tuple[EndpointGroup, Project, bool]:
    group = await _group(request)
    project = await must_get(request, Project, request.match_info["project_id"])
    given = await store(request).pool.fetchval(
        "SELECT true FROM rm_project_endpoint_groups"
        " WHERE project_id = $1 AND endpoint_group_id = $2",
        project.id,
        group.id,
    )
    return group, project, bool(given)


@routes.put(GROUPS + "/{group_id}/projects/{project_id}")
async def give_group(request: web.Request) -> web.Response:
    group, project, given = await _group_and_project(request)
    if not given:
        event = ev.EndpointGroupGivenToProject(endpoint_group_id=group.id, project_id=project.id)
        await record(request, f"endpoint_group-{group.id}", [event])
    return web.Response(status=204)


@routes.get(GROUPS + "/{group_id}/projects/{project_id}")
async def check_group(request: web.Request) -> web.Response:
    group, project, given = await _group_and_project(request)
    if not given:
        raise NotFound(f"Endpoint group {group.id} is not given to project {project.id}.")
    path = f"OS-EP-FILTER/endpoint_groups/{group.id}/projects/{project.id}"
    body = {"endpoint_group_id": group.id, "project_id": project.id}
    links = {"self": views.v3(base_url(request), path)}
    return json_response({"project_endpoint_group": body | {"links": links}})


@routes.delete(GROUPS + "/{group_id}/projects/{project_id}")
async def take_group(request: web.Request) -> web.Response:
    group, project, given = await _group_and_project(request)
    if not given:
        raise NotFound(f"Endpoint group {group.id} is not given to project {project.id}.")
    event = ev.EndpointGroupTakenFromProject(endpoint_group_id=group.id, project_id=project.id)
    await record(request, f"endpoint_group-{group.id}", [event])
    return web.Response(status=204)


async def _endpoint_and_project(request: web.Request) -> tuple[Endpoint, Project, bool]:
    _admin(request)
    project = await must_get(request, Project, request.match_info["project_id"])
    endpoint = await must_get(request, Endpoint, request.match_info["endpoint_id"])
    given = await store(request).pool.fetchval(
        "SELECT true FROM rm_project_endpoints WHERE project_id = $1 AND endpoint_id = $2",
        project.id,
        endpoint.id,
    )
    return endpoint, project, bool(given)


@routes.put(ROOT + "/projects/{project_id}/endpoints/{endpoint_id}")
async def give_endpoint(request: web.Request) -> web.Response:
    endpoint, project, given = await _endpoint_and_project(request)
    if not given:
        event = ev.EndpointGivenToProject(project_id=project.id, endpoint_id=endpoint.id)
        await record(request, f"project-{project.id}", [event])
    return web.Response(status=204)


@routes.get(ROOT + "/projects/{project_id}/endpoints/{endpoint_id}")
async def check_endpoint(request: web.Request) -> web.Response:
    endpoint, project, given = await _endpoint_and_project(request)
    if not given:
        raise NotFound(f"Endpoint {endpoint.id} is not given to project {project.id}.")
    return web.Response(status=204)


@routes.delete(ROOT + "/projects/{project_id}/endpoints/{endpoint_id}")
async def take_endpoint(request: web.Request) -> web.Response:
    endpoint, project, given = await _endpoint_and_project(request)
    if not given:
        raise NotFound(f"Endpoint {endpoint.id} is not given to project {project.id}.")
    event = ev.EndpointTakenFromProject(project_id=project.id, endpoint_id=endpoint.id)
    await record(request, f"project-{project.id}", [event])
    return web.Response(status=204)


@routes.get(ROOT + "/projects/{project_id}/endpoints")
async def endpoints_of_project(request: web.Request) -> web.Response:
    _admin(request)
    project = await must_get(request, Project, request.match_info["project_id"])
    given = await project_endpoints(store(request).pool, project.id)
    items = [views.endpoint(e, base_url(request)) for e in given]
    return _list(request, f"OS-EP-FILTER/projects/{project.id}/endpoints", "endpoints", items)


@routes.get(ROOT + "/projects/{project_id}/endpoint_groups")
async def groups_of_project(request: web.Request) -> web.Response:
    _admin(request)
    project = await must_get(request, Project, request.match_info["project_id"])
    found = await project_endpoint_groups(store(request).pool, project.id)
    items = [views.endpoint_group(g, base_url(request)) for g in found]
    path = f"OS-EP-FILTER/projects/{project.id}/endpoint_groups"
    return _list(request, path, "endpoint_groups", items)


@routes.get(ROOT + "/endpoints/{endpoint_id}/projects")
async def projects_of_endpoint(request: web.Request) -> web.Response:
    _admin(request)
    endpoint = await must_get(request, Endpoint, request.match_info["endpoint_id"])
    items = await _projects_given(request, "rm_project_endpoints", "endpoint_id", endpoint.id)
    return _list(request, f"OS-EP-FILTER/endpoints/{endpoint.id}/projects", "projects", items)
