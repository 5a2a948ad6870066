"""Role grants on projects, domains and the system (direct and OS-INHERIT), and
GET /v3/role_assignments with its filters, `effective` and `include_names`."""

from typing import Any

import msgspec
from aiohttp import web

from service.auth import caller
from service.errors import BadRequest, NotFound
from service.http.body import json_response
from service.identity import events as ev
from service.identity import views
from service.identity.api.common import base_url, flag, must_get, record, store
from service.identity.directory import Assignment, Domain, Group, Project, Role, User, select
from service.policy import enforce

routes = web.RouteTableDef()

_TARGETS: dict[str, tuple[str, type[Project] | type[Domain]]] = {
    "projects": ("project", Project),
    "domains": ("domain", Domain),
}
_ACTORS: dict[str, tuple[str, type[User] | type[Group]]] = {
    "users": ("user", User),
    "groups": ("group", Group),
}
_GRANT = "/v3/{targets:projects|domains}/{target_id}/{actors:users|groups}/{actor_id}/roles"
_INHERITED = (
    "/v3/OS-INHERIT/{targets:projects|domains}/{target_id}/{actors:users|groups}/{actor_id}/roles"
)
_SYSTEM = "/v3/system/{actors:users|groups}/{actor_id}/roles"


async def _grant_parts(request: web.Request, action: str) -> Assignment:
    """The assignment named by the path (role id "" for list paths), checked and resolved."""
    info = request.match_info
    actor_type, actor_cls = _ACTORS[info["actors"]]
    target_cls: type[Project] | type[Domain] | None
    if "targets" in info:
        target_type, target_cls = _TARGETS[info["targets"]]
        target_id = info["target_id"]
    else:
        target_type, target_cls, target_id = "system", None, "all"
    domain_id = None
    if target_cls is not None:
        target = await store(request).pool.fetchrow(
            f"SELECT id, {'domain_id' if target_cls is Project else 'id'} AS domain_id"
            f" FROM {'rm_projects' if target_cls is Project else 'rm_domains'} WHERE id = $1",
            target_id,
        )
        domain_id = target["domain_id"] if target else None
    enforce(caller(request), action, {"domain_id": domain_id, f"{target_type}_id": target_id})
    if target_cls is not None:
        await must_get(request, target_cls, target_id)
    await must_get(request, actor_cls, info["actor_id"])
    role_id = info.get("role_id", "")
    if role_id:
        await must_get(request, Role, role_id)
    inherited = (
        request.path.startswith("/identity/v3/OS-INHERIT/") or "/OS-INHERIT/" in request.path
    )
    return Assignment(actor_type, info["actor_id"], target_type, target_id, role_id, inherited)


async def _exists(request: web.Request, a: Assignment) -> bool:
    found = await store(request).pool.fetchval(
        "SELECT true FROM rm_role_assignments WHERE actor_type = $1 AND actor_id = $2"
        " AND target_type = $3 AND target_id = $4 AND role_id = $5 AND inherited = $6",
        a.actor_type, a.actor_id, a.target_type, a.target_id, a.role_id, a.inherited,
    )  # fmt: skip
    return bool(found)


def _stream(a: Assignment) -> str:
    return f"{a.actor_type}-{a.actor_id}"


async def grant(request: web.Request) -> web.Response:
    a = await _grant_parts(request, "identity:create_grant")
    if not await _exists(request, a):
        event = ev.RoleGranted(
            role_id=a.role_id, actor_type=a.actor_type, actor_id=a.actor_id,
            target_type=a.target_type, target_id=a.target_id, inherited=a.inherited,
        )  # fmt: skip
        await record(request, _stream(a), [event])
    return web.Response(status=204)


async def check_grant(request: web.Request) -> web.Response:
    a = await _grant_parts(request, "identity:check_grant")
    if not await _exists(request, a):
        raise NotFound(f"Could not find role assignment with role: {a.role_id}.")
    return web.Response(status=204)


async def revoke_grant(request: web.Request) -> web.Response:
    a = await _grant_parts(request, "identity:revoke_grant")
    if not await _exists(request, a):
        raise NotFound(f"Could not find role assignment with role: {a.role_id}.")
    event = ev.RoleRevoked(
        role_id=a.role_id, actor_type=a.actor_type, actor_id=a.actor_id,
        target_type=a.target_type, target_id=a.target_id, inherited=a.inherited,
    )  # fmt: skip
    await record(request, _stream(a), [event])
    return web.Response(status=204)


async def list_grants(request: web.Request) -> web.Response:
    a = await _grant_parts(request, "identity:list_grants")
    roles = await select(
        store(request).pool, Role,
        "id IN (SELECT role_id FROM rm_role_assignments WHERE actor_type = $1 AND actor_id = $2"
        " AND target_type = $3 AND target_id = $4 AND inherited = $5)",
        a.actor_type, a.actor_id, a.target_type, a.target_id, a.inherited,
    )  # fmt: skip
    items = [views.role(r, base_url(request)) for r in roles]
    path = request.path.removeprefix("/identity/v3/")
    return json_response(views.collection(base_url(request), path, "roles", items))


for prefix, suffix in ((_GRANT, ""), (_INHERITED, "/inherited_to_projects"), (_SYSTEM, "")):
    routes.put(f"{prefix}/{{role_id}}{suffix}")(grant)
    routes.get(f"{prefix}/{{role_id}}{suffix}")(check_grant)
    routes.delete(f"{prefix}/{{role_id}}{suffix}")(revoke_grant)
    routes.get(f"{prefix}{suffix}")(list_grants)


# --- GET /v3/role_assignments -------------------------------------------------------


class Derived(msgspec.Struct, frozen=True):
    """An assignment as listed, with where it came from: the grant it was derived from
    (itself unless `effective` expanded a group or an inheritance) and the prior role
    when it is an implied one."""

    assignment: Assignment
    source: Assignment
    prior_role_id: str | None = None


async def _expand(request: web.Request, rows: list[Assignment]) -> list[Derived]:
    """Effective assignments: group grants become user grants, inherited grants land on
    the projects below, implied roles are added and domain-specific roles left out (they
    only stand for what they imply); each remembers its source grant."""
    pool = store(request).pool
    members: dict[str, list[str]] = {}
    for group_id, user_id in await pool.fetch("SELECT group_id, user_id FROM rm_group_members"):
        members.setdefault(group_id, []).append(user_id)
    projects = await select(pool, Project)
    implied: dict[str, list[str]] = {}
    for prior, imp in await pool.fetch(
        "SELECT prior_role_id, implied_role_id FROM rm_implied_roles"
    ):
        implied.setdefault(prior, []).append(imp)
    domain_specific = {
        r["id"] for r in await pool.fetch("SELECT id FROM rm_roles WHERE domain_id IS NOT NULL")
    }

    def below(target_type: str, target_id: str) -> list[str]:
        if target_type == "domain":
            return [p.id for p in projects if p.domain_id == target_id]
        children = [p.id for p in projects if p.parent_id == target_id]
        return children + [c for child in children for c in below("project", child)]

    out: list[Derived] = []
    for a in rows:
        users = [a.actor_id]
        if a.actor_type == "group":
            users = members.get(a.actor_id, [])
        targets = [(a.target_type, a.target_id)]
        if a.inherited:
            targets = [("project", p) for p in below(a.target_type, a.target_id)]
        for role_id, prior in _implied_closure(a.role_id, implied):
            if role_id in domain_specific:
                continue
            for user_id in users:
                for target_type, target_id in targets:
                    derived = Assignment("user", user_id, target_type, target_id, role_id, False)
                    out.append(Derived(derived, a, prior))
    return list(dict.fromkeys(out))


def _implied_closure(role_id: str, implied: dict[str, list[str]]) -> list[tuple[str, str | None]]:
    """The role and every role it implies, transitively, each with the role it was
    implied by (None for the role itself)."""
    found: list[tuple[str, str | None]] = [(role_id, None)]
    seen, todo = {role_id}, [role_id]
    while todo:
        prior = todo.pop()
        for imp in implied.get(prior, []):
            if imp not in seen:
                seen.add(imp)
                found.append((imp, prior))
                todo.append(imp)
    return found


@routes.get("/v3/role_assignments")
async def list_role_assignments(request: web.Request) -> web.Response:
    q = request.query
    scope_domain = q.get("scope.domain.id")
    enforce(caller(request), "identity:list_role_assignments", {"domain_id": scope_domain})
    effective = flag(request, "effective") or False
    if effective and "group.id" in q:
        raise BadRequest(
            "Combining effective and group filter will always result in an empty list."
        )
    rows = [
        Assignment(*r)
        for r in await store(request).pool.fetch(
            "SELECT actor_type, actor_id, target_type, target_id, role_id, inherited"
            " FROM rm_role_assignments ORDER BY 1, 2, 3, 4, 5"
        )
    ]
    derived = await _expand(request, rows) if effective else [Derived(a, a) for a in rows]

    def keep(a: Assignment) -> bool:
        checks = (
            ("user.id", a.actor_type == "user" and a.actor_id == q.get("user.id")),
            ("group.id", a.actor_type == "group" and a.actor_id == q.get("group.id")),
            ("role.id", a.role_id == q.get("role.id")),
            (
                "scope.project.id",
                a.target_type == "project" and a.target_id == q.get("scope.project.id"),
            ),
            ("scope.domain.id", a.target_type == "domain" and a.target_id == scope_domain),
            ("scope.system", a.target_type == "system"),
            ("scope.OS-INHERIT:inherited_to", a.inherited),
        )
        return all(ok for key, ok in checks if key in q)

    names = await _names(request) if flag(request, "include_names") else None
    items = [_assignment_view(request, d, names) for d in derived if keep(d.assignment)]
    return json_response(
        views.collection(base_url(request), "role_assignments", "role_assignments", items)
    )


async def _names(request: web.Request) -> dict[str, dict[str, Any]]:
    """Id -> {name, domain} for everything an assignment may mention."""
    pool = store(request).pool
    domains = {d.id: {"id": d.id, "name": d.name} for d in await select(pool, Domain)}
    names: dict[str, dict[str, Any]] = {}
    for type_ in (User, Group, Project, Role):
        for item in await select(pool, type_):
            entry: dict[str, Any] = {"name": item.name}  # type: ignore[attr-defined]
            domain_id = getattr(item, "domain_id", None)
            if domain_id is not None:
                entry["domain"] = domains.get(domain_id, {"id": domain_id})
            names[item.id] = entry  # type: ignore[attr-defined]
    for domain_id, domain in domains.items():
        names[domain_id] = {"name": domain["name"]}
    return names


def _assignment_view(
    request: web.Request, d: Derived, names: dict[str, dict[str, Any]] | None
) -> dict[str, Any]:
    """Keystone's role assignment entity; its links name the grant it comes from, the
    group membership it goes through and the prior role that implied it, as they apply."""
    a, source = d.assignment, d.source

    def ref(row_id: str) -> dict[str, Any]:
        return {"id": row_id, **(names.get(row_id, {}) if names else {})}

    scope: dict[str, Any] = (
        {"system": {"all": True}}
        if a.target_type == "system"
        else {a.target_type: ref(a.target_id)}
    )
    if a.inherited:
        scope["OS-INHERIT:inherited_to"] = "projects"
    base = base_url(request)
    links: dict[str, str] = {"assignment": views.v3(base, _grant_path(source))}
    if source.actor_type == "group" and a.actor_type == "user":
        links["membership"] = views.v3(base, f"groups/{source.actor_id}/users/{a.actor_id}")
    if d.prior_role_id is not None:
        links["prior_role"] = views.v3(base, f"roles/{d.prior_role_id}")
    return {"role": ref(a.role_id), a.actor_type: ref(a.actor_id), "scope": scope, "links": links}


def _grant_path(source: Assignment) -> str:
    """The path of the grant `source`, below /v3."""
    target = (
        "system" if source.target_type == "system" else f"{source.target_type}s/{source.target_id}"
    )
    path = f"{target}/{source.actor_type}s/{source.actor_id}/roles/{source.role_id}"
    return f"OS-INHERIT/{path}/inherited_to_projects" if source.inherited else path
