"""/v3/domains: create, list, show, update (disable), delete."""

from typing import Annotated

import msgspec
from aiohttp import web
from msgspec import UNSET, Meta, UnsetType

from events.store import NO_STREAM, StreamAppend
from service.auth import caller
from service.errors import Forbidden
from service.http.body import json_response, read_json
from service.identity import events as ev
from service.identity import views
from service.identity.api.common import (
    base_url,
    filters,
    must_get,
    new_id,
    record,
    record_streams,
    store,
)
from service.identity.directory import DEFAULT_DOMAIN_ID, Domain, Group, Project, User, select
from service.policy import enforce

Name = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"\S")]
routes = web.RouteTableDef()


class NewDomain(msgspec.Struct, forbid_unknown_fields=False):
    name: Name
    description: str = ""
    enabled: bool = True
    tags: list[str] = []


class DomainChanges(msgspec.Struct):
    name: Name | UnsetType = UNSET
    description: str | UnsetType = UNSET
    enabled: bool | UnsetType = UNSET
    tags: list[str] | UnsetType = UNSET


class CreateDomain(msgspec.Struct):
    domain: NewDomain


class UpdateDomain(msgspec.Struct):
    domain: DomainChanges


def _duplicate(name: str) -> str:
    return f"Conflict occurred attempting to store domain - Duplicate entry found with name {name}."


async def add_domain(request: web.Request, body: NewDomain) -> Domain:
    """Record a new domain (the caller's policy checked by the caller); 409 for a name
    in use."""
    domain_id = new_id(request)
    await record(
        request,
        f"domain-{domain_id}",
        [ev.DomainCreated(domain_id=domain_id, name=body.name, description=body.description,
                          enabled=body.enabled, tags=tuple(body.tags))],
        NO_STREAM,
        conflict=_duplicate(body.name),
    )  # fmt: skip
    return await must_get(request, Domain, domain_id)


async def change_domain(request: web.Request, domain: Domain, changes: DomainChanges) -> Domain:
    """Record `changes` of the domain; 403 for disabling the default one."""
    if domain.id == DEFAULT_DOMAIN_ID and changes.enabled is False:
        raise Forbidden("The default domain cannot be disabled.")
    tags = UNSET if changes.tags is UNSET else tuple(changes.tags)
    event = ev.DomainUpdated(
        domain_id=domain.id, name=changes.name, description=changes.description,
        enabled=changes.enabled, tags=tags,
    )  # fmt: skip
    new_name = domain.name if changes.name is UNSET else changes.name
    await record(request, f"domain-{domain.id}", [event], conflict=_duplicate(new_name))
    return await must_get(request, Domain, domain.id)


async def remove_domain(request: web.Request, domain: Domain) -> None:
    """Delete a disabled domain and everything in it (projects, users, groups); 403 for
    the default domain or an enabled one."""
    if domain.id == DEFAULT_DOMAIN_ID:
        raise Forbidden("The default domain cannot be deleted.")
    if domain.enabled:
        raise Forbidden("Cannot delete a domain that is enabled, please disable it first.")
    pool = store(request).pool
    contents: list[StreamAppend] = [
        StreamAppend(f"project-{p.id}", [ev.ProjectDeleted(project_id=p.id)])
        for p in await select(pool, Project, "domain_id = $1", domain.id)
    ]
    contents += [
        StreamAppend(f"user-{u.id}", [ev.UserDeleted(user_id=u.id)])
        for u in await select(pool, User, "domain_id = $1", domain.id)
    ]
    contents += [
        StreamAppend(f"group-{g.id}", [ev.GroupDeleted(group_id=g.id)])
        for g in await select(pool, Group, "domain_id = $1", domain.id)
    ]
    domain_stream = StreamAppend(f"domain-{domain.id}", [ev.DomainDeleted(domain_id=domain.id)])
    await record_streams(request, [*contents, domain_stream])


async def listed_domains(request: web.Request) -> list[Domain]:
    """The domains the query's `name` and `enabled` filters keep."""
    where, args = filters(request, "name", "enabled")
    return await select(store(request).pool, Domain, where, *args)


@routes.post("/v3/domains")
async def create_domain(request: web.Request) -> web.Response:
    enforce(caller(request), "identity:create_domain")
    domain = await add_domain(request, (await read_json(request, CreateDomain)).domain)
    return json_response({"domain": views.domain(domain, base_url(request))}, status=201)


@routes.get("/v3/domains")
async def list_domains(request: web.Request) -> web.Response:
    enforce(caller(request), "identity:list_domains")
    items = [views.domain(d, base_url(request)) for d in await listed_domains(request)]
    return json_response(views.collection(base_url(request), "domains", "domains", items))


@routes.get("/v3/domains/{domain_id}")
async def show_domain(request: web.Request) -> web.Response:
    domain_id = request.match_info["domain_id"]
    enforce(caller(request), "identity:get_domain", {"domain_id": domain_id})
    domain = await must_get(request, Domain, domain_id)
    return json_response({"domain": views.domain(domain, base_url(request))})


@routes.patch("/v3/domains/{domain_id}")
async def update_domain(request: web.Request) -> web.Response:
    domain_id = request.match_info["domain_id"]
    enforce(caller(request), "identity:update_domain", {"domain_id": domain_id})
    changes = (await read_json(request, UpdateDomain)).domain
    domain = await change_domain(request, await must_get(request, Domain, domain_id), changes)
    return json_response({"domain": views.domain(domain, base_url(request))})


@routes.delete("/v3/domains/{domain_id}")
async def delete_domain(request: web.Request) -> web.Response:
    """Delete a disabled domain and everything in it (projects, users, groups)."""
    domain_id = request.match_info["domain_id"]
    enforce(caller(request), "identity:delete_domain", {"domain_id": domain_id})
    await remove_domain(request, await must_get(request, Domain, domain_id))
    return web.Response(status=204)
