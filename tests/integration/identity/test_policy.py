"""The identity policy matrix: for each operation, what a reader and a member of a
project, a member of another project, an unauthenticated caller, a caller with a garbled
token and the cloud admin get — Keystone's secure-RBAC defaults (403 for an
authenticated caller who may not, 401 without a valid token)."""

from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer

from events.postgres import create_pool
from service.app import create_app
from service.config import Settings
from service.identity.bootstrap import bootstrap
from service.read_models import kumo_store
from tests.conftest import fresh_database
from tests.integration.identity.conftest import (
    ADMIN_PASSWORD,
    PUBLIC_URL,
    Api,
    Client,
    Person,
    make_person,
    password_auth,
    token_for,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


class Op(msgspec.Struct, frozen=True):
    """One identity operation and the status each caller gets. Paths may name `{project}`
    (the reader's and member's project), `{victim}` (another user on that project),
    `{group}`, `{role}` (reader), `{service}`, `{endpoint}` and `{cred}` (the victim's
    application credential); `scratch` names those the admin gets fresh ones of."""

    method: str
    path: str
    ok: int = 200
    body: Any = None
    reader: int = 403
    member: int = 403
    other: int = 403
    scratch: tuple[str, ...] = ()


def anyone(method: str, path: str) -> Op:
    """An operation every authenticated caller may do."""
    return Op(method, path, reader=200, member=200, other=200)


def on_project(method: str, path: str) -> Op:
    """An operation any role on the project allows."""
    return Op(method, path, reader=200, member=200)


OPS: dict[str, Op] = {
    # domains
    "list_domains": Op("GET", "domains"),
    "get_domain": anyone("GET", "domains/default"),
    "create_domain": Op("POST", "domains", 201, {"domain": {"name": "new-domain"}}),
    "update_domain": Op("PATCH", "domains/default", 200, {"domain": {"description": "x"}}),
    "delete_domain": Op("DELETE", "domains/default", 403),
    # projects
    "list_projects": Op("GET", "projects"),
    "get_project": on_project("GET", "projects/{project}"),
    "create_project": Op("POST", "projects", 201, {"project": {"name": "new-project"}}),
    "update_project": Op("PATCH", "projects/{project}", 200, {"project": {"description": "x"}}),
    "delete_project": Op("DELETE", "projects/{project}", 204, scratch=("project",)),
    "list_project_tags": on_project("GET", "projects/{project}/tags"),
    "check_project_tag": Op("GET", "projects/{project}/tags/blue", 404, reader=404, member=404),
    "add_project_tag": Op("PUT", "projects/{project}/tags/blue", 201, scratch=("project",)),
    "replace_project_tags": Op(
        "PUT", "projects/{project}/tags", 200, {"tags": ["a"]}, scratch=("project",)
    ),
    "clear_project_tags": Op("DELETE", "projects/{project}/tags", 204, scratch=("project",)),
    # users
    "list_users": Op("GET", "users"),
    "get_user": Op("GET", "users/{victim}"),
    "list_user_projects": Op("GET", "users/{victim}/projects"),
    "list_user_groups": Op("GET", "users/{victim}/groups"),
    "create_user": Op("POST", "users", 201, {"user": {"name": "new-user"}}),
    "update_user": Op("PATCH", "users/{victim}", 200, {"user": {"email": "v@example.com"}}),
    "reset_password": Op(
        "PATCH", "users/{victim}", 200, {"user": {"password": "reset-pw-1"}}, scratch=("victim",)
    ),
    "delete_user": Op("DELETE", "users/{victim}", 204, scratch=("victim",)),
    # groups
    "list_groups": Op("GET", "groups"),
    "get_group": Op("GET", "groups/{group}"),
    "create_group": Op("POST", "groups", 201, {"group": {"name": "new-group"}}),
    "update_group": Op("PATCH", "groups/{group}", 200, {"group": {"description": "x"}}),
    "delete_group": Op("DELETE", "groups/{group}", 204, scratch=("group",)),
    "list_group_users": Op("GET", "groups/{group}/users"),
    "add_group_user": Op("PUT", "groups/{group}/users/{victim}", 204, scratch=("group",)),
    "check_group_user": Op("GET", "groups/{group}/users/{victim}", 404),
    # roles
    "list_roles": Op("GET", "roles"),
    "get_role": Op("GET", "roles/{role}"),
    "create_role": Op("POST", "roles", 201, {"role": {"name": "new-role"}}),
    "update_role": Op("PATCH", "roles/{role}", 200, {"role": {"description": "x"}}),
    "delete_role": Op("DELETE", "roles/{role}", 204, scratch=("role",)),
    "list_implied_roles": Op("GET", "roles/{role}/implies"),
    "list_role_inferences": Op("GET", "role_inferences"),
    # grants and assignments
    "list_role_assignments": Op("GET", "role_assignments"),
    "list_grants": Op("GET", "projects/{project}/users/{victim}/roles"),
    "check_grant": Op("GET", "projects/{project}/users/{victim}/roles/{role}", 204),
    "create_grant": Op("PUT", "projects/{project}/groups/{group}/roles/{role}", 204),
    "revoke_grant": Op(
        "DELETE", "projects/{project}/users/{victim}/roles/{role}", 204, scratch=("victim",)
    ),
    "create_domain_grant": Op("PUT", "domains/default/users/{victim}/roles/{role}", 204),
    # catalog
    "list_regions": anyone("GET", "regions"),
    "get_region": anyone("GET", "regions/RegionOne"),
    "create_region": Op("POST", "regions", 201, {"region": {"id": "RegionNew"}}),
    "list_services": Op("GET", "services"),
    "get_service": Op("GET", "services/{service}"),
    "create_service": Op("POST", "services", 201, {"service": {"type": "dns"}}),
    "delete_service": Op("DELETE", "services/{service}", 204, scratch=("service",)),
    "list_endpoints": Op("GET", "endpoints"),
    "get_endpoint": Op("GET", "endpoints/{endpoint}"),
    "update_endpoint": Op("PATCH", "endpoints/{endpoint}", 200, {"endpoint": {"enabled": True}}),
    # another user's application credentials; not even the admin creates one for them
    "list_victim_credentials": Op("GET", "users/{victim}/application_credentials"),
    "get_victim_credential": Op("GET", "users/{victim}/application_credentials/{cred}"),
    "delete_victim_credential": Op(
        "DELETE", "users/{victim}/application_credentials/{cred}", 204, scratch=("cred",)
    ),
    "create_victim_credential": Op(
        "POST",
        "users/{victim}/application_credentials",
        403,
        {"application_credential": {"name": "stolen"}},
    ),
    # a caller who may not act learns nothing about existence: 403 before 404
    "get_missing_project": Op("GET", "projects/nope", 404),
    "get_missing_user": Op("GET", "users/nope", 404),
    "create_project_in_missing_parent": Op(
        "POST", "projects", 404, {"project": {"name": "orphan", "parent_id": "nope"}}
    ),
    "create_project_in_missing_domain": Op(
        "POST", "projects", 404, {"project": {"name": "orphan", "domain_id": "nope"}}
    ),
    "create_user_in_missing_domain": Op(
        "POST", "users", 404, {"user": {"name": "orphan", "domain_id": "nope"}}
    ),
    "grant_on_missing_project": Op("PUT", "projects/nope/users/{victim}/roles/{role}", 404),
    # every authenticated caller
    "auth_projects": anyone("GET", "auth/projects"),
    "auth_catalog": anyone("GET", "auth/catalog"),
}


class World:
    """The callers and the resources the operations act on, shared by the module's tests
    (one app, one database). An operation that would spoil the shared resources for the
    others names them in `Op.scratch`; the admin then acts on fresh ones instead."""

    def __init__(self, callers: dict[str, Api], names: dict[str, str], victim: Person) -> None:
        self.callers = callers
        self.names = names
        self.victim = victim
        self.made = 0

    @property
    def admin(self) -> Api:
        return self.callers["admin"]

    async def scratch(self, kind: str) -> str:
        """A fresh resource of `kind` like the shared one, for the admin to act on."""
        self.made += 1
        name = f"scratch-{kind}-{self.made}"
        match kind:
            case "project" | "group" | "role":
                _, body = await self.admin.call("POST", f"{kind}s", {kind: {"name": name}})
                return str(body[kind]["id"])
            case "service":
                _, body = await self.admin.call("POST", "services", {"service": {"type": name}})
                return str(body["service"]["id"])
            case "victim":
                person = await make_person(self.admin, "reader", name, self.names["project"])
                return person.user_id
            case "cred":
                victim = Api(self.admin.client, self.victim.token)
                return await new_credential(victim, self.victim.user_id, name)
        raise AssertionError(kind)


async def new_credential(api: Api, user_id: str, name: str) -> str:
    """An application credential the caller makes for itself; its id."""
    status, body = await api.call(
        "POST", f"users/{user_id}/application_credentials",
        {"application_credential": {"name": name}},
    )  # fmt: skip
    assert status == 201, body
    return str(body["application_credential"]["id"])


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(
    server_url: str, template_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    settings = Settings(
        public_url=PUBLIC_URL, data_dir=tmp_path_factory.mktemp("policy"),
        admin_password=ADMIN_PASSWORD, password_hash_rounds=4,
    )  # fmt: skip
    async with fresh_database(server_url) as url:
        pool = await create_pool(url, min_size=1, max_size=20)
        try:
            store = kumo_store(pool)
            await bootstrap(store, settings)
            async with TestClient(TestServer(create_app(settings, store))) as client:
                yield await _populate(client)
        finally:
            await pool.close()


async def _populate(client: Client) -> World:
    as_admin = Api(client, await token_for(
        client, password_auth("admin", ADMIN_PASSWORD, project="admin")))  # fmt: skip
    reader = await make_person(as_admin, "reader", "reader")
    member = await make_person(as_admin, "member", "member", reader.project_id)
    other = await make_person(as_admin, "member", "other")
    victim = await make_person(as_admin, "reader", "victim", reader.project_id)
    _, body = await as_admin.call("POST", "groups", {"group": {"name": "crew"}})
    group_id = body["group"]["id"]
    _, body = await as_admin.call("GET", "roles?name=reader")
    role_id = body["roles"][0]["id"]
    _, body = await as_admin.call("GET", "endpoints?interface=public")
    endpoint = body["endpoints"][0]
    cred = await new_credential(Api(client, victim.token), victim.user_id, "victim-cred")
    names = {
        "project": reader.project_id, "victim": victim.user_id, "group": group_id,
        "role": role_id, "service": endpoint["service_id"], "endpoint": endpoint["id"],
        "cred": cred,
    }  # fmt: skip
    callers = {
        "reader": Api(client, reader.token),
        "member": Api(client, member.token),
        "other": Api(client, other.token),
        "anonymous": Api(client, None),
        "garbled": Api(client, "gAAAAA-not-a-token"),
        "admin": as_admin,
    }
    return World(callers, names, victim)


@pytest.mark.parametrize("name", OPS)
async def test_policy(world: World, name: str) -> None:
    op = OPS[name]
    path = op.path.format(**world.names)
    expected = {"reader": op.reader, "member": op.member, "other": op.other,
                "anonymous": 401, "garbled": 401, "admin": op.ok}  # fmt: skip
    got: dict[str, int] = {}
    for who, api in world.callers.items():  # the admin last: it may change things
        if who == "admin" and op.scratch:
            fresh = {kind: await world.scratch(kind) for kind in op.scratch}
            path = op.path.format(**{**world.names, **fresh})
        status, body = await api.call(op.method, path, op.body)
        got[who] = status
        if status in (401, 403):
            assert body["error"]["code"] == status, body
            assert body["error"]["title"] == ("Unauthorized" if status == 401 else "Forbidden")
    assert got == expected


async def test_validating_another_users_token_needs_admin(world: World) -> None:
    client, victim_token = world.admin.client, world.victim.token
    for who, expected in (("reader", 403), ("anonymous", 401), ("admin", 200)):
        api = world.callers[who]
        headers = {"X-Subject-Token": victim_token}
        if api.token:
            headers["X-Auth-Token"] = api.token
        response = await client.get("/identity/v3/auth/tokens", headers=headers)
        assert response.status == expected, who
    headers = {"X-Auth-Token": victim_token, "X-Subject-Token": victim_token}
    assert (await client.get("/identity/v3/auth/tokens", headers=headers)).status == 200
    as_reader = {
        "X-Auth-Token": world.callers["reader"].token or "",
        "X-Subject-Token": victim_token,
    }
    response = await client.delete("/identity/v3/auth/tokens", headers=as_reader)
    assert response.status == 403
    assert (await client.get("/identity/v3/auth/tokens", headers=headers)).status == 200


async def test_a_user_reads_itself_and_lists_its_own_projects(world: World) -> None:
    reader = world.callers["reader"]
    project = world.names["project"]
    own_id = await _own_id(reader)
    status, body = await reader.call("GET", f"users/{own_id}")
    assert status == 200 and body["user"]["name"] == "reader"
    status, body = await reader.call("GET", f"users/{own_id}/projects")
    assert status == 200 and [p["id"] for p in body["projects"]] == [project]
    status, body = await reader.call("GET", f"users/{own_id}/groups")
    assert status == 200 and body["groups"] == []
    status, body = await reader.call("GET", "auth/projects")
    assert status == 200 and [p["id"] for p in body["projects"]] == [project]
    assert (await reader.call("PATCH", f"users/{own_id}", {"user": {"enabled": False}}))[0] == 403


async def test_a_user_manages_its_own_application_credentials(world: World) -> None:
    member = world.callers["member"]
    own = f"users/{await _own_id(member)}/application_credentials"
    status, body = await member.call("POST", own, {"application_credential": {"name": "mine"}})
    assert status == 201 and body["application_credential"]["secret"]
    cred = body["application_credential"]["id"]
    status, body = await member.call("GET", own)
    assert status == 200 and [c["id"] for c in body["application_credentials"]] == [cred]
    assert (await member.call("GET", f"{own}/{cred}"))[0] == 200
    victims = f"users/{world.victim.user_id}/application_credentials"
    assert (await member.call("GET", victims))[0] == 403
    assert (await member.call("GET", f"{victims}/{world.names['cred']}"))[0] == 403
    assert (await member.call("DELETE", f"{victims}/{world.names['cred']}"))[0] == 403
    # the victim's credential under the member's own path is not found, not shown
    assert (await member.call("GET", f"{own}/{world.names['cred']}"))[0] == 404
    assert (await member.call("DELETE", f"{own}/{cred}"))[0] == 204
    assert (await member.call("GET", f"{own}/{cred}"))[0] == 404


async def _own_id(api: Api) -> str:
    """The id of the user behind an Api's token."""
    response = await api.client.get(
        "/identity/v3/auth/tokens",
        headers={"X-Auth-Token": api.token or "", "X-Subject-Token": api.token or ""},
    )
    return str((await response.json())["token"]["user"]["id"])
