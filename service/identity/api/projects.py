"""/v3/projects (with tags) and /v3/users/{id}/projects, /v3/auth/projects' base."""

from typing import Annotated, Any

import msgspec
from aiohttp import web
from msgspec import UNSET, Meta, UnsetType

from events.store import NO_STREAM
from service.auth import AuthContext, caller
from service.errors import BadRequest, Forbidden, NotFound
from service.http.body import json_response, read_json
from service.identity import events as ev
from service.identity import views
from service.identity.api.common import (
    authorized,
    base_url,
    filters,
    must_get,
    new_id,
    record,
    store,
)
from service.identity.api.domains import (
    DomainChanges,
    NewDomain,
    add_domain,
    change_domain,
    listed_domains,
    remove_domain,
)
from service.identity.directory import DEFAULT_DOMAIN_ID, Domain, Project, User, get, select
from service.policy import enforce

Name = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"\S")]
Tag = Annotated[str, Meta(min_length=1, max_length=255, pattern=r"^[^,/]*$")]
routes = web.RouteTableDef()


class NewProject(msgspec.Struct):
    name: Name
    domain_id: str | None = None
    parent_id: str | None = None
    description: str = ""
    enabled: bool = True
    is_domain: bool = False
    tags: list[Tag] = []
    options: dict[str, Any] = {}


class ProjectChanges(msgspec.Struct):
    name: Name | UnsetType = UNSET
    description: str | UnsetType = UNSET
    enabled: bool | UnsetType = UNSET
    tags: list[Tag] | UnsetType = UNSET
    options: dict[str, Any] | UnsetType = UNSET
    domain_id: str | UnsetType = UNSET
    parent_id: str | None | UnsetType = UNSET


class CreateProject(msgspec.Struct):
    project: NewProject


class UpdateProject(msgspec.Struct):
    project: ProjectChanges


class Tags(msgspec.Struct):
    tags: list[Tag]


def _duplicate(name: str, domain_id: str) -> str:
    return (
        "Conflict occurred attempting to store project - Duplicate entry found with name "
        f"{name} at domain ID {domain_id}."
    )


def _target(project: Project) -> dict[str, str]:
    return {"project_id": project.id, "domain_id": project.domain_id}


def default_domain(ctx: AuthContext) -> str:
    """The domain a new project or user goes to when the body names none."""
    return ctx.domain_id or ctx.project_domain_id or DEFAULT_DOMAIN_ID


@routes.post("/v3/projects")
async def create_project(request: web.Request) -> web.Response:
    ctx = caller(request)
    body = (await read_json(request, CreateProject)).project
    if body.is_domain:
        return await _create_domain_project(request, ctx, body)
    pool = store(request).pool
    parent = await get(pool, Project, body.parent_id) if body.parent_id else None
    domain_id = body.domain_id or (parent.domain_id if parent else default_domain(ctx))
    # the policy first, so a caller who may not create learns nothing of what exists
    enforce(ctx, "identity:create_project", {"domain_id": domain_id})
    if body.parent_id is not None and parent is None:
        await must_get(request, Project, body.parent_id)
    if parent is None:
        await must_get(request, Domain, domain_id)
    elif parent.domain_id != domain_id:
        raise BadRequest("A project must be in the same domain as its parent.")
    project_id = new_id(request)
    created = ev.ProjectCreated(
        project_id=project_id, name=body.name, domain_id=domain_id, parent_id=body.parent_id,
        description=body.description, enabled=body.enabled, tags=tuple(body.tags),
        options=body.options,
    )  # fmt: skip
    await record(
        request, f"project-{project_id}", [created], NO_STREAM,
        conflict=_duplicate(body.name, domain_id),
    )  # fmt: skip
    project = await must_get(request, Project, project_id)
    return json_response({"project": views.project(project, base_url(request))}, status=201)


async def _create_domain_project(
    request: web.Request, ctx: AuthContext, body: NewProject
) -> web.Response:
    """A project acting as a domain, as Keystone models domains: a domain, shown by both
    APIs; it has no domain or parent of its own."""
    enforce(ctx, "identity:create_domain")
    if body.domain_id is not None or body.parent_id is not None:
        raise BadRequest("A project acting as a domain has no domain_id or parent_id.")
    new = NewDomain(body.name, body.description, body.enabled, list(body.tags))
    domain = await add_domain(request, new)
    shown = views.domain_as_project(domain, base_url(request))
    return json_response({"project": shown}, status=201)


async def _acting_domain(request: web.Request, action: str) -> Domain | None:
    """The domain the path's id names when no project has it (a project acting as a
    domain), once the domain `action` is allowed on it; None for a project's id."""
    project_id = request.match_info["project_id"]
    pool = store(request).pool
    if await get(pool, Project, project_id) is not None:
        return None
    domain = await get(pool, Domain, project_id)
    if domain is not None:
        enforce(caller(request), action, {"domain_id": domain.id})
    return domain


@routes.get("/v3/projects")
async def list_projects(request: web.Request) -> web.Response:
    ctx = caller(request)
    if request.query.get("is_domain", "").lower() == "true":
        enforce(ctx, "identity:list_domains")
        domains = await listed_domains(request)
        items = [views.domain_as_project(d, base_url(request)) for d in domains]
        return json_response(views.collection(base_url(request), "projects", "projects", items))
    enforce(ctx, "identity:list_projects", {"domain_id": request.query.get("domain_id")})
    where, args = filters(request, "name", "domain_id", "enabled", "parent_id")
    for key, op in (("tags", "@>"), ("tags-any", "&&"), ("not-tags", "@>"), ("not-tags-any", "&&")):
        if key in request.query:
            args.append(request.query[key].split(","))
            clause = f"tags {op} ${len(args)}"
            where += f" AND {'NOT ' if key.startswith('not') else ''}({clause})"
    if not ctx.is_admin and ctx.scope == "domain":
        args.append(ctx.domain_id)
        where += f" AND domain_id = ${len(args)}"
    projects = await select(store(request).pool, Project, where, *args)
    items = [views.project(p, base_url(request)) for p in projects]
    return json_response(views.collection(base_url(request), "projects", "projects", items))


@routes.get("/v3/projects/{project_id}")
async def show_project(request: web.Request) -> web.Response:
    domain = await _acting_domain(request, "identity:get_domain")
    if domain is not None:
        return json_response({"project": views.domain_as_project(domain, base_url(request))})
    project = await _authorized(request, "identity:get_project")
    return json_response({"project": views.project(project, base_url(request))})


async def _authorized(request: web.Request, action: str) -> Project:
    """The project in the path, once `action` is allowed on it."""
    project_id = request.match_info["project_id"]

    def target(project: Project | None) -> dict[str, str]:
        return _target(project) if project else {"project_id": project_id}

    return await authorized(request, Project, project_id, action, target)


@routes.patch("/v3/projects/{project_id}")
async def update_project(request: web.Request) -> web.Response:
    domain = await _acting_domain(request, "identity:update_domain")
    changes = (await read_json(request, UpdateProject)).project
    if domain is not None:
        return await _update_domain_project(request, domain, changes)
    project = await _authorized(request, "identity:update_project")
    if changes.domain_id not in (UNSET, project.domain_id):
        raise BadRequest("Update of `domain_id` is not allowed.")
    if changes.parent_id not in (UNSET, project.parent_id):
        raise Forbidden("Update of `parent_id` is not allowed.")
    event = ev.ProjectUpdated(
        project_id=project.id, name=changes.name, description=changes.description,
        enabled=changes.enabled, options=changes.options,
        tags=UNSET if changes.tags is UNSET else tuple(changes.tags),
    )  # fmt: skip
    name = project.name if changes.name is UNSET else changes.name
    await record(
        request, f"project-{project.id}", [event], conflict=_duplicate(name, project.domain_id)
    )
    project = await must_get(request, Project, project.id)
    return json_response({"project": views.project(project, base_url(request))})


async def _update_domain_project(
    request: web.Request, domain: Domain, changes: ProjectChanges
) -> web.Response:
    if changes.domain_id not in (UNSET, None) or changes.parent_id not in (UNSET, None):
        raise BadRequest("A project acting as a domain has no domain_id or parent_id.")
    asked = DomainChanges(
        name=changes.name,
        description=changes.description,
        enabled=changes.enabled,
        tags=changes.tags,
    )
    domain = await change_domain(request, domain, asked)
    return json_response({"project": views.domain_as_project(domain, base_url(request))})


@routes.delete("/v3/projects/{project_id}")
async def delete_project(request: web.Request) -> web.Response:
    domain = await _acting_domain(request, "identity:delete_domain")
    if domain is not None:
        await remove_domain(request, domain)
        return web.Response(status=204)
    project = await _authorized(request, "identity:delete_project")
    if await select(store(request).pool, Project, "parent_id = $1", project.id):
        raise Forbidden(f"Cannot delete the project {project.id} since it has children.")
    await record(request, f"project-{project.id}", [ev.ProjectDeleted(project_id=project.id)])
    return web.Response(status=204)


@routes.get("/v3/projects/{project_id}/tags")
async def list_tags(request: web.Request) -> web.Response:
    project = await _authorized(request, "identity:list_project_tags")
    return json_response({"tags": project.tags})


@routes.put("/v3/projects/{project_id}/tags")
async def replace_tags(request: web.Request) -> web.Response:
    project = await _authorized(request, "identity:update_project_tags")
    tags = (await read_json(request, Tags)).tags
    await _set_tags(request, project, tags)
    return json_response({"tags": tags})


@routes.get("/v3/projects/{project_id}/tags/{tag}")
async def check_tag(request: web.Request) -> web.Response:
    project = await _authorized(request, "identity:list_project_tags")
    tag = request.match_info["tag"]
    if tag not in project.tags:
        raise tag_not_found(tag)
    return web.Response(status=204)


@routes.put("/v3/projects/{project_id}/tags/{tag}")
async def add_tag(request: web.Request) -> web.Response:
    project = await _authorized(request, "identity:update_project_tags")
    tag = request.match_info["tag"]
    try:
        msgspec.convert(tag, Tag)
    except msgspec.ValidationError:
        raise BadRequest(f"Invalid tag: {tag!r}.") from None
    if tag not in project.tags:
        await _set_tags(request, project, [*project.tags, tag])
    return web.Response(status=201)


@routes.delete("/v3/projects/{project_id}/tags/{tag}")
async def remove_tag(request: web.Request) -> web.Response:
    project = await _authorized(request, "identity:update_project_tags")
    tag = request.match_info["tag"]
    if tag not in project.tags:
        raise tag_not_found(tag)
    await _set_tags(request, project, [t for t in project.tags if t != tag])
    return web.Response(status=204)


@routes.delete("/v3/projects/{project_id}/tags")
async def clear_tags(request: web.Request) -> web.Response:
    project = await _authorized(request, "identity:update_project_tags")
    await _set_tags(request, project, [])
    return web.Response(status=204)


async def _set_tags(request: web.Request, project: Project, tags: list[str]) -> None:
    if len(tags) > 80:
        raise BadRequest("A project may have at most 80 tags.")
    event = ev.ProjectUpdated(project_id=project.id, tags=tuple(dict.fromkeys(tags)))
    await record(request, f"project-{project.id}", [event])


def tag_not_found(tag: str) -> NotFound:
    return NotFound(f"Tag {tag} not found.")


async def projects_of_user(request: web.Request, user_id: str) -> list[Project]:
    """Enabled projects on which the user holds a role, directly or through a group."""
    return await select(
        store(request).pool,
        Project,
        "enabled AND id IN (SELECT a.target_id FROM rm_role_assignments a"
        " WHERE a.target_type = 'project' AND ((a.actor_type = 'user' AND a.actor_id = $1)"
        " OR (a.actor_type = 'group' AND a.actor_id IN"
        " (SELECT group_id FROM rm_group_members WHERE user_id = $1))))",
        user_id,
    )


@routes.get("/v3/users/{user_id}/projects")
async def list_user_projects(request: web.Request) -> web.Response:
    user_id = request.match_info["user_id"]

    def target(user: User | None) -> dict[str, Any]:
        return {"user_id": user_id, "domain_id": user.domain_id if user else None}

    await authorized(request, User, user_id, "identity:list_user_projects", target)
    items = [views.project(p, base_url(request)) for p in await projects_of_user(request, user_id)]
    path = f"users/{user_id}/projects"
    return json_response(views.collection(base_url(request), path, "projects", items))
