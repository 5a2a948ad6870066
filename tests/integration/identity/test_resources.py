"""Identity resources over HTTP: Keystone v3's status codes and body shapes for domains,
projects (and tags), users (and self-service password change), groups, roles and implied
roles, grants, role assignments, the catalog resources and application credentials."""

from typing import Any

from service.identity.bootstrap import Bootstrapped
from tests.integration.identity.conftest import (
    PUBLIC_URL,
    Api,
    Client,
    make_person,
    password_auth,
    token_for,
)

V3 = f"{PUBLIC_URL}/identity/v3"


async def create(api: Api, collection: str, key: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST a resource that must be created (201); its JSON representation."""
    status, created = await api.call("POST", collection, {key: body})
    assert status == 201, created
    return dict(created[key])


async def role_id(api: Api, name: str) -> str:
    _, body = await api.call("GET", f"roles?name={name}")
    return str(body["roles"][0]["id"])


def ids(items: list[dict[str, Any]]) -> set[str]:
    return {item["id"] for item in items}


# --- domains ---------------------------------------------------------------------------


async def test_domain_crud_and_filters(as_admin: Api) -> None:
    domain = await create(as_admin, "domains", "domain", {"name": "acme", "description": "d"})
    assert domain["name"] == "acme" and domain["description"] == "d" and domain["enabled"]
    assert domain["links"]["self"] == f"{V3}/domains/{domain['id']}"
    status, body = await as_admin.call("GET", "domains")
    assert status == 200 and {"acme", "Default"} <= {d["name"] for d in body["domains"]}
    assert body["links"]["self"] == f"{V3}/domains"
    status, body = await as_admin.call("GET", "domains?name=acme")
    assert [d["id"] for d in body["domains"]] == [domain["id"]]
    status, body = await as_admin.call("GET", f"domains/{domain['id']}")
    assert status == 200 and body["domain"] == domain
    status, body = await as_admin.call(
        "PATCH", f"domains/{domain['id']}", {"domain": {"description": "new"}}
    )
    assert status == 200 and body["domain"]["description"] == "new"
    status, body = await as_admin.call("POST", "domains", {"domain": {"name": "acme"}})
    assert status == 409 and body["error"]["code"] == 409


async def test_an_enabled_domain_is_not_deleted_a_disabled_one_is(as_admin: Api) -> None:
    domain = await create(as_admin, "domains", "domain", {"name": "gone"})
    project = await create(
        as_admin, "projects", "project", {"name": "inside", "domain_id": domain["id"]}
    )
    status, body = await as_admin.call("DELETE", f"domains/{domain['id']}")
    assert status == 403 and body["error"]["title"] == "Forbidden"
    status, body = await as_admin.call(
        "PATCH", f"domains/{domain['id']}", {"domain": {"enabled": False}}
    )
    assert status == 200 and body["domain"]["enabled"] is False
    status, body = await as_admin.call("GET", "domains?enabled=false")
    assert domain["id"] in ids(body["domains"])
    assert (await as_admin.call("DELETE", f"domains/{domain['id']}"))[0] == 204
    assert (await as_admin.call("GET", f"domains/{domain['id']}"))[0] == 404
    assert (await as_admin.call("GET", f"projects/{project['id']}"))[0] == 404


async def test_the_default_domain_cannot_be_disabled_or_deleted(as_admin: Api) -> None:
    status, _ = await as_admin.call("PATCH", "domains/default", {"domain": {"enabled": False}})
    assert status == 403
    assert (await as_admin.call("DELETE", "domains/default"))[0] == 403
    status, body = await as_admin.call("GET", "domains/default")
    assert status == 200 and body["domain"]["enabled"] is True


async def test_missing_domain_is_404_in_keystones_words(as_admin: Api) -> None:
    status, body = await as_admin.call("GET", "domains/nope")
    assert status == 404
    assert body["error"] == {
        "code": 404, "title": "Not Found", "message": "Could not find domain: nope."
    }  # fmt: skip


async def test_a_project_acting_as_a_domain_is_a_domain_in_both_apis(
    client: Client, as_admin: Api
) -> None:
    made = await create(as_admin, "projects", "project", {"name": "corp", "is_domain": True})
    assert made["is_domain"] is True and made["domain_id"] is None and made["parent_id"] is None
    _, domains = await as_admin.call("GET", "domains")
    assert made["id"] in ids(domains["domains"])
    _, acting = await as_admin.call("GET", "projects?is_domain=true")
    assert made["id"] in ids(acting["projects"]) and all(p["is_domain"] for p in acting["projects"])
    _, plain = await as_admin.call("GET", "projects")
    assert made["id"] not in ids(plain["projects"])
    inside = await create(as_admin, "projects", "project", {"name": "dev", "domain_id": made["id"]})
    assert inside["domain_id"] == made["id"]
    status, shown = await as_admin.call("GET", f"projects/{made['id']}")
    assert status == 200 and shown["project"]["is_domain"] is True
    enabled = await as_admin.call("DELETE", f"projects/{made['id']}")
    assert enabled[0] == 403  # a domain is disabled before it is deleted
    status, body = await as_admin.call(
        "PATCH", f"projects/{made['id']}", {"project": {"enabled": False}}
    )
    assert status == 200 and body["project"]["enabled"] is False
    assert (await as_admin.call("GET", f"domains/{made['id']}"))[1]["domain"]["enabled"] is False
    assert (await as_admin.call("DELETE", f"projects/{made['id']}"))[0] == 204
    assert (await as_admin.call("GET", f"domains/{made['id']}"))[0] == 404
    assert (await as_admin.call("GET", f"projects/{inside['id']}"))[0] == 404
    parented = {"project": {"name": "x", "is_domain": True, "parent_id": inside["id"]}}
    assert (await as_admin.call("POST", "projects", parented))[0] == 400
    person = await make_person(as_admin, "member", "dommy")
    as_member = Api(client, person.token)
    refused = await as_member.call(
        "POST", "projects", {"project": {"name": "y", "is_domain": True}}
    )
    assert refused[0] == 403


# --- projects ----------------------------------------------------------------------------


async def test_project_crud_hierarchy_and_enable(as_admin: Api) -> None:
    parent = await create(as_admin, "projects", "project", {"name": "parent", "description": "p"})
    assert parent["domain_id"] == "default" and parent["parent_id"] == "default"
    assert parent["is_domain"] is False and parent["enabled"] is True and parent["tags"] == []
    child = await create(
        as_admin, "projects", "project", {"name": "child", "parent_id": parent["id"]}
    )
    assert child["parent_id"] == parent["id"] and child["domain_id"] == "default"
    status, body = await as_admin.call("GET", f"projects?parent_id={parent['id']}")
    assert status == 200 and ids(body["projects"]) == {child["id"]}
    status, body = await as_admin.call("GET", "projects?name=parent")
    assert ids(body["projects"]) == {parent["id"]}
    status, body = await as_admin.call(
        "PATCH", f"projects/{child['id']}", {"project": {"enabled": False, "name": "kid"}}
    )
    assert (
        status == 200 and body["project"]["enabled"] is False and body["project"]["name"] == "kid"
    )
    status, body = await as_admin.call("GET", "projects?enabled=false")
    assert ids(body["projects"]) == {child["id"]}
    status, body = await as_admin.call("POST", "projects", {"project": {"name": "parent"}})
    assert status == 409 and "Duplicate entry" in body["error"]["message"]
    status, _ = await as_admin.call("DELETE", f"projects/{parent['id']}")
    assert status == 403
    assert (await as_admin.call("DELETE", f"projects/{child['id']}"))[0] == 204
    assert (await as_admin.call("DELETE", f"projects/{parent['id']}"))[0] == 204
    status, body = await as_admin.call("GET", f"projects/{parent['id']}")
    assert status == 404 and body["error"]["message"] == f"Could not find project: {parent['id']}."


async def test_project_in_another_domain_and_same_name_across_domains(as_admin: Api) -> None:
    domain = await create(as_admin, "domains", "domain", {"name": "other"})
    here = await create(as_admin, "projects", "project", {"name": "twin"})
    there = await create(
        as_admin, "projects", "project", {"name": "twin", "domain_id": domain["id"]}
    )
    assert there["domain_id"] == there["parent_id"] == domain["id"]
    _, body = await as_admin.call("GET", f"projects?domain_id={domain['id']}")
    assert ids(body["projects"]) == {there["id"]}
    _, body = await as_admin.call("GET", "projects?name=twin")
    assert ids(body["projects"]) == {here["id"], there["id"]}
    status, _ = await as_admin.call(
        "POST", "projects", {"project": {"name": "x", "domain_id": "no"}}
    )
    assert status == 404


async def test_project_tags(as_admin: Api) -> None:
    a = await create(as_admin, "projects", "project", {"name": "ta", "tags": ["red", "big"]})
    b = await create(as_admin, "projects", "project", {"name": "tb", "tags": ["red"]})
    assert a["tags"] == ["red", "big"]
    status, body = await as_admin.call("GET", f"projects/{a['id']}/tags")
    assert status == 200 and body == {"tags": ["red", "big"]}
    _, body = await as_admin.call("GET", "projects?tags=red,big")
    assert ids(body["projects"]) == {a["id"]}
    _, body = await as_admin.call("GET", "projects?tags-any=big,red")
    assert ids(body["projects"]) == {a["id"], b["id"]}
    _, body = await as_admin.call("GET", "projects?not-tags=big")
    assert a["id"] not in ids(body["projects"]) and b["id"] in ids(body["projects"])
    assert (await as_admin.call("PUT", f"projects/{b['id']}/tags/blue"))[0] == 201
    assert (await as_admin.call("GET", f"projects/{b['id']}/tags/blue"))[0] == 204
    assert (await as_admin.call("GET", f"projects/{b['id']}/tags/green"))[0] == 404
    assert (await as_admin.call("DELETE", f"projects/{b['id']}/tags/red"))[0] == 204
    _, body = await as_admin.call("GET", f"projects/{b['id']}")
    assert body["project"]["tags"] == ["blue"]
    status, body = await as_admin.call("PUT", f"projects/{b['id']}/tags", {"tags": ["x", "y"]})
    assert status == 200 and body == {"tags": ["x", "y"]}
    assert (await as_admin.call("DELETE", f"projects/{b['id']}/tags"))[0] == 204
    assert (await as_admin.call("GET", f"projects/{b['id']}/tags"))[1] == {"tags": []}
    status, _ = await as_admin.call("PUT", f"projects/{b['id']}/tags", {"tags": ["a,b"]})
    assert status == 400


# --- users -------------------------------------------------------------------------------


async def test_user_crud_with_extra_attributes(as_admin: Api) -> None:
    project = await create(as_admin, "projects", "project", {"name": "home"})
    user = await create(as_admin, "users", "user", {
        "name": "ada", "password": "pw-ada-1", "email": "ada@example.com",
        "default_project_id": project["id"], "shoe_size": 38, "team": {"name": "math"},
    })  # fmt: skip
    assert "password" not in user
    assert user["shoe_size"] == 38 and user["team"] == {"name": "math"}
    assert user["email"] == "ada@example.com" and user["default_project_id"] == project["id"]
    assert user["domain_id"] == "default" and user["enabled"] is True
    assert user["links"]["self"] == f"{V3}/users/{user['id']}"
    status, body = await as_admin.call("GET", f"users/{user['id']}")
    assert status == 200 and body["user"] == user
    _, body = await as_admin.call("GET", "users?name=ada")
    assert ids(body["users"]) == {user["id"]}
    _, body = await as_admin.call("GET", "users?domain_id=default&enabled=true")
    assert user["id"] in ids(body["users"])
    status, body = await as_admin.call(
        "PATCH", f"users/{user['id']}", {"user": {"enabled": False, "shoe_size": 39}}
    )
    assert status == 200 and body["user"]["enabled"] is False and body["user"]["shoe_size"] == 39
    assert body["user"]["team"] == {"name": "math"}
    _, body = await as_admin.call("GET", "users?enabled=false")
    assert ids(body["users"]) == {user["id"]}
    status, body = await as_admin.call("POST", "users", {"user": {"name": "ada"}})
    assert status == 409
    assert (await as_admin.call("DELETE", f"users/{user['id']}"))[0] == 204
    status, body = await as_admin.call("GET", f"users/{user['id']}")
    assert status == 404 and body["error"]["message"] == f"Could not find user: {user['id']}."


async def test_a_disabled_user_cannot_authenticate(client: Client, as_admin: Api) -> None:
    user = await create(as_admin, "users", "user", {"name": "off", "password": "pw-off-1"})
    await as_admin.call("PATCH", f"users/{user['id']}", {"user": {"enabled": False}})
    response = await client.post("/identity/v3/auth/tokens", json=password_auth("off", "pw-off-1"))
    assert response.status == 401


async def test_self_service_password_change(client: Client, as_admin: Api) -> None:
    user = await create(as_admin, "users", "user", {"name": "selfie", "password": "first-1"})
    anonymous = Api(client, None)

    async def change(original: str, new: str) -> tuple[int, Any]:
        body = {"user": {"original_password": original, "password": new}}
        return await anonymous.call("POST", f"users/{user['id']}/password", body)

    assert (await change("first-1", "second-2"))[0] == 204
    response = await client.post(
        "/identity/v3/auth/tokens", json=password_auth("selfie", "first-1")
    )
    assert response.status == 401
    await token_for(client, password_auth("selfie", "second-2"))
    status, body = await change("wrong", "third-3")
    assert status == 401 and body["error"]["code"] == 401
    status, body = await change("second-2", "first-1")
    assert status == 400 and "previous password" in body["error"]["message"]
    status, _ = await change("second-2", "second-2")
    assert status == 400
    assert (await change("second-2", "third-3"))[0] == 204
    # with unique_last_password_count=2 the oldest one may come back now
    assert (await change("third-3", "first-1"))[0] == 204
    await token_for(client, password_auth("selfie", "first-1"))


async def test_password_change_of_a_missing_user_is_404(client: Client) -> None:
    body = {"user": {"original_password": "a", "password": "b"}}
    status, _ = await Api(client, None).call("POST", "users/nobody/password", body)
    assert status == 404


# --- groups ------------------------------------------------------------------------------


async def test_groups_and_membership(as_admin: Api) -> None:
    group = await create(as_admin, "groups", "group", {"name": "devs", "description": "d"})
    assert (
        group["domain_id"] == "default" and group["links"]["self"] == f"{V3}/groups/{group['id']}"
    )
    user = await create(as_admin, "users", "user", {"name": "gina"})
    path = f"groups/{group['id']}/users/{user['id']}"
    assert (await as_admin.call("GET", path))[0] == 404
    assert (await as_admin.call("PUT", path))[0] == 204
    assert (await as_admin.call("PUT", path))[0] == 204
    assert (await as_admin.call("GET", path))[0] == 204
    assert (await as_admin.client.head(f"/identity/v3/{path}", headers={
        "X-Auth-Token": as_admin.token or ""})).status == 204  # fmt: skip
    _, body = await as_admin.call("GET", f"groups/{group['id']}/users")
    assert ids(body["users"]) == {user["id"]}
    _, body = await as_admin.call("GET", f"users/{user['id']}/groups")
    assert ids(body["groups"]) == {group["id"]}
    _, body = await as_admin.call("GET", "groups?name=devs")
    assert ids(body["groups"]) == {group["id"]}
    status, body = await as_admin.call(
        "PATCH", f"groups/{group['id']}", {"group": {"name": "developers"}}
    )
    assert status == 200 and body["group"]["name"] == "developers"
    assert (await as_admin.call("POST", "groups", {"group": {"name": "developers"}}))[0] == 409
    assert (await as_admin.call("DELETE", path))[0] == 204
    assert (await as_admin.call("DELETE", path))[0] == 404
    assert (await as_admin.call("DELETE", f"groups/{group['id']}"))[0] == 204
    assert (await as_admin.call("GET", f"groups/{group['id']}"))[0] == 404


# --- roles -------------------------------------------------------------------------------


async def test_bootstrap_roles_and_their_implications(as_admin: Api) -> None:
    _, body = await as_admin.call("GET", "roles")
    names = {r["name"] for r in body["roles"]}
    assert {"admin", "manager", "member", "reader", "service", "ResellerAdmin"} <= names
    admin, manager, member, reader = [
        await role_id(as_admin, n) for n in ("admin", "manager", "member", "reader")
    ]
    status, body = await as_admin.call("GET", f"roles/{admin}/implies")
    assert status == 200
    assert body["role_inference"]["prior_role"]["id"] == admin
    assert [r["id"] for r in body["role_inference"]["implies"]] == [manager]
    status, body = await as_admin.call("GET", f"roles/{manager}/implies/{member}")
    assert status == 200 and body["role_inference"]["implies"]["id"] == member
    status, body = await as_admin.call("GET", f"roles/{member}/implies/{reader}")
    assert status == 200 and body["role_inference"]["implies"]["id"] == reader
    assert (await as_admin.call("GET", f"roles/{reader}/implies/{admin}"))[0] == 404
    _, body = await as_admin.call("GET", "role_inferences")
    pairs = {
        (i["prior_role"]["id"], r["id"]) for i in body["role_inferences"] for r in i["implies"]
    }
    assert {(admin, manager), (manager, member), (member, reader)} <= pairs


async def test_role_crud_and_implied_roles(as_admin: Api) -> None:
    role = await create(as_admin, "roles", "role", {"name": "auditor", "description": "a"})
    assert role["domain_id"] is None and role["links"]["self"] == f"{V3}/roles/{role['id']}"
    assert (await as_admin.call("POST", "roles", {"role": {"name": "auditor"}}))[0] == 409
    status, body = await as_admin.call("GET", f"roles/{role['id']}")
    assert status == 200 and body["role"] == role
    status, body = await as_admin.call(
        "PATCH", f"roles/{role['id']}", {"role": {"description": "b"}}
    )
    assert status == 200 and body["role"]["description"] == "b"
    reader = await role_id(as_admin, "reader")
    status, body = await as_admin.call("PUT", f"roles/{role['id']}/implies/{reader}")
    assert status == 201
    assert body["role_inference"]["prior_role"]["id"] == role["id"]
    assert body["role_inference"]["implies"]["id"] == reader
    assert (await as_admin.call("DELETE", f"roles/{role['id']}/implies/{reader}"))[0] == 204
    assert (await as_admin.call("DELETE", f"roles/{role['id']}/implies/{reader}"))[0] == 404
    assert (await as_admin.call("DELETE", f"roles/{role['id']}"))[0] == 204
    assert (await as_admin.call("GET", f"roles/{role['id']}"))[0] == 404


async def test_domain_specific_roles_only_stand_for_what_they_imply(
    client: Client, as_admin: Api
) -> None:
    scoped = await create(as_admin, "roles", "role", {"name": "ops", "domain_id": "default"})
    reader, admin = await role_id(as_admin, "reader"), await role_id(as_admin, "admin")
    assert (await as_admin.call("PUT", f"roles/{scoped['id']}/implies/{reader}"))[0] == 201
    assert (await as_admin.call("PUT", f"roles/{reader}/implies/{scoped['id']}"))[0] == 403
    assert (await as_admin.call("PUT", f"roles/{scoped['id']}/implies/{admin}"))[0] == 403
    person = await make_person(as_admin, "member", "opsy")
    grant = f"projects/{person.project_id}/users/{person.user_id}/roles/{scoped['id']}"
    assert (await as_admin.call("PUT", grant))[0] == 204
    query = f"role_assignments?user.id={person.user_id}&effective"
    _, body = await as_admin.call("GET", query)
    effective = {a["role"]["id"] for a in body["role_assignments"]}
    assert reader in effective and scoped["id"] not in effective
    _, body = await as_admin.call("GET", f"role_assignments?user.id={person.user_id}")
    assert scoped["id"] in {a["role"]["id"] for a in body["role_assignments"]}
    auth = password_auth("opsy", person.password, project=f"p-{person.name}")
    response = await client.post("/identity/v3/auth/tokens", json=auth)
    roles = {r["name"] for r in (await response.json())["token"]["roles"]}
    assert roles == {"member", "reader"}


# --- grants and role assignments --------------------------------------------------------


async def test_grants_on_projects_and_domains_for_users_and_groups(as_admin: Api) -> None:
    project = await create(as_admin, "projects", "project", {"name": "granted"})
    user = await create(as_admin, "users", "user", {"name": "grantee"})
    group = await create(as_admin, "groups", "group", {"name": "grantees"})
    member = await role_id(as_admin, "member")
    reader = await role_id(as_admin, "reader")
    for target in (f"projects/{project['id']}", "domains/default"):
        for actor in (f"users/{user['id']}", f"groups/{group['id']}"):
            path = f"{target}/{actor}/roles"
            assert (await as_admin.call("GET", f"{path}/{member}"))[0] == 404
            assert (await as_admin.call("PUT", f"{path}/{member}"))[0] == 204
            assert (await as_admin.call("GET", f"{path}/{member}"))[0] == 204
            status, body = await as_admin.call("GET", path)
            assert status == 200 and ids(body["roles"]) == {member}
            assert body["links"]["self"] == f"{V3}/{path}"
            assert (await as_admin.call("DELETE", f"{path}/{member}"))[0] == 204
            assert (await as_admin.call("DELETE", f"{path}/{member}"))[0] == 404
    path = f"projects/{project['id']}/users/{user['id']}/roles/"
    assert (await as_admin.call("PUT", path + "nope"))[0] == 404
    assert (await as_admin.call("PUT", f"projects/nope/users/{user['id']}/roles/{reader}"))[
        0
    ] == 404


async def test_role_assignments_list_filters_effective_and_names(
    client: Client, as_admin: Api
) -> None:
    project = await create(as_admin, "projects", "project", {"name": "ra"})
    user = await create(as_admin, "users", "user", {"name": "rau", "password": "pw-rau-1"})
    group = await create(as_admin, "groups", "group", {"name": "rag"})
    await as_admin.call("PUT", f"groups/{group['id']}/users/{user['id']}")
    admin, member, reader = [await role_id(as_admin, n) for n in ("admin", "member", "reader")]
    await as_admin.call("PUT", f"projects/{project['id']}/groups/{group['id']}/roles/{member}")
    await as_admin.call("PUT", f"projects/{project['id']}/users/{user['id']}/roles/{admin}")

    status, body = await as_admin.call("GET", f"role_assignments?scope.project.id={project['id']}")
    assert status == 200 and body["links"]["self"] == f"{V3}/role_assignments"
    direct = {
        (a["user"]["id"] if "user" in a else a["group"]["id"], a["role"]["id"])
        for a in body["role_assignments"]
    }
    assert direct == {(user["id"], admin), (group["id"], member)}
    one = next(a for a in body["role_assignments"] if "group" in a)
    assert one["scope"] == {"project": {"id": project["id"]}}
    assert one["links"]["assignment"] == (
        f"{V3}/projects/{project['id']}/groups/{group['id']}/roles/{member}"
    )

    _, body = await as_admin.call("GET", f"role_assignments?user.id={user['id']}")
    assert [a["role"]["id"] for a in body["role_assignments"]] == [admin]

    query = f"role_assignments?user.id={user['id']}&scope.project.id={project['id']}&effective"
    _, body = await as_admin.call("GET", query)
    effective = body["role_assignments"]
    assert all(a["user"]["id"] == user["id"] and "group" not in a for a in effective)
    manager = await role_id(as_admin, "manager")
    assert {a["role"]["id"] for a in effective} == {admin, manager, member, reader}
    via_group = [a for a in effective if "membership" in a["links"]]
    assert via_group and all(
        a["links"]["membership"] == f"{V3}/groups/{group['id']}/users/{user['id']}"
        and a["links"]["assignment"].startswith(
            f"{V3}/projects/{project['id']}/groups/{group['id']}/"
        )
        for a in via_group
    )
    implied = [a for a in effective if a["role"]["id"] == reader]
    assert implied and all("prior_role" in a["links"] for a in implied)

    _, body = await as_admin.call("GET", f"{query}&include_names")
    named = next(a for a in body["role_assignments"] if a["role"]["id"] == admin)
    assert named["role"]["name"] == "admin"
    assert named["user"] == {
        "id": user["id"], "name": "rau", "domain": {"id": "default", "name": "Default"}
    }  # fmt: skip
    assert named["scope"]["project"] == {
        "id": project["id"], "name": "ra", "domain": {"id": "default", "name": "Default"}
    }  # fmt: skip

    status, _ = await as_admin.call("GET", f"role_assignments?group.id={group['id']}&effective")
    assert status == 400


async def test_a_group_grant_gives_a_member_a_token(client: Client, as_admin: Api) -> None:
    project = await create(as_admin, "projects", "project", {"name": "viagroup"})
    user = await create(as_admin, "users", "user", {"name": "gmem", "password": "pw-gmem-1"})
    group = await create(as_admin, "groups", "group", {"name": "gg"})
    reader = await role_id(as_admin, "reader")
    await as_admin.call("PUT", f"projects/{project['id']}/groups/{group['id']}/roles/{reader}")
    body = password_auth("gmem", "pw-gmem-1", project="viagroup")
    assert (await client.post("/identity/v3/auth/tokens", json=body)).status == 401
    await as_admin.call("PUT", f"groups/{group['id']}/users/{user['id']}")
    response = await client.post("/identity/v3/auth/tokens", json=body)
    assert response.status == 201
    assert [r["name"] for r in (await response.json())["token"]["roles"]] == ["reader"]


# --- regions, services, endpoints ------------------------------------------------------


async def test_regions_services_and_endpoints(as_admin: Api) -> None:
    _, body = await as_admin.call("GET", "regions")
    assert "RegionOne" in ids(body["regions"])
    region = await create(as_admin, "regions", "region", {"id": "RegionTwo", "description": "2"})
    assert region == {"id": "RegionTwo", "description": "2", "parent_region_id": None,
                      "links": {"self": f"{V3}/regions/RegionTwo"}}  # fmt: skip
    assert (await as_admin.call("POST", "regions", {"region": {"id": "RegionTwo"}}))[0] == 409
    status, body = await as_admin.call(
        "PATCH", "regions/RegionTwo", {"region": {"description": "two"}}
    )
    assert status == 200 and body["region"]["description"] == "two"

    service = await create(as_admin, "services", "service", {"type": "dns", "name": "designate"})
    assert (
        service["enabled"] is True and service["links"]["self"] == f"{V3}/services/{service['id']}"
    )
    _, body = await as_admin.call("GET", "services?type=dns")
    assert ids(body["services"]) == {service["id"]}
    endpoint = await create(as_admin, "endpoints", "endpoint", {
        "service_id": service["id"], "interface": "public", "url": "http://dns.test:9001",
        "region_id": "RegionTwo"})  # fmt: skip
    assert endpoint["region_id"] == endpoint["region"] == "RegionTwo"
    assert endpoint["interface"] == "public" and endpoint["enabled"] is True
    _, body = await as_admin.call("GET", f"endpoints?service_id={service['id']}")
    assert ids(body["endpoints"]) == {endpoint["id"]}
    status, body = await as_admin.call(
        "PATCH", f"endpoints/{endpoint['id']}", {"endpoint": {"url": "http://dns.test:9002"}}
    )
    assert status == 200 and body["endpoint"]["url"] == "http://dns.test:9002"
    _, catalog = await as_admin.call("GET", "auth/catalog")
    dns = next(s for s in catalog["catalog"] if s["type"] == "dns")
    assert [e["url"] for e in dns["endpoints"]] == ["http://dns.test:9002"]
    status, _ = await as_admin.call("POST", "endpoints", {"endpoint": {
        "service_id": service["id"], "interface": "sideways", "url": "http://x"}})  # fmt: skip
    assert status == 400
    assert (await as_admin.call("DELETE", f"endpoints/{endpoint['id']}"))[0] == 204
    assert (await as_admin.call("DELETE", f"services/{service['id']}"))[0] == 204
    assert (await as_admin.call("GET", f"services/{service['id']}"))[0] == 404
    assert (await as_admin.call("DELETE", "regions/RegionTwo"))[0] == 204
    assert (await as_admin.call("GET", "regions/RegionTwo"))[0] == 404


async def test_an_endpoint_creates_the_region_it_names(as_admin: Api) -> None:
    service = await create(as_admin, "services", "service", {"type": "dns", "name": "designate"})
    public = {"service_id": service["id"], "interface": "public", "url": "http://dns.test:9001"}
    endpoint = await create(as_admin, "endpoints", "endpoint", public | {"region": "RegionNorth"})
    assert endpoint["region_id"] == "RegionNorth"
    status, body = await as_admin.call("GET", "regions/RegionNorth")
    assert status == 200 and body["region"]["parent_region_id"] is None
    for field, region in (("region_id", "RegionSouth"), ("region", "RegionWest")):
        status, body = await as_admin.call(
            "PATCH", f"endpoints/{endpoint['id']}", {"endpoint": {field: region}}
        )
        assert status == 200 and body["endpoint"]["region_id"] == region
        assert (await as_admin.call("GET", f"regions/{region}"))[0] == 200
    orphan = public | {"service_id": "nope", "region_id": "RegionEast"}
    assert (await as_admin.call("POST", "endpoints", {"endpoint": orphan}))[0] == 404
    assert (await as_admin.call("GET", "regions/RegionEast"))[0] == 404


async def test_policy_documents_are_kept_for_admins(client: Client, as_admin: Api) -> None:
    policy = await create(
        as_admin, "policies", "policy", {"type": "application/json", "blob": "{}"}
    )
    path = f"policies/{policy['id']}"
    assert policy["links"]["self"] == f"{V3}/{path}"
    assert (await as_admin.call("GET", path)) == (200, {"policy": policy})
    status, body = await as_admin.call("PATCH", path, {"policy": {"type": "text/yaml"}})
    assert (
        status == 200 and body["policy"]["type"] == "text/yaml" and body["policy"]["blob"] == "{}"
    )
    _, body = await as_admin.call("GET", "policies?type=text/yaml")
    assert ids(body["policies"]) == {policy["id"]}
    _, body = await as_admin.call("GET", "policies?type=application/json")
    assert policy["id"] not in ids(body["policies"])
    member = Api(client, (await make_person(as_admin, "member", "polly")).token)
    assert (await member.call("GET", path))[0] == 403
    assert (await member.call("POST", "policies", {"policy": {"type": "t", "blob": ""}}))[0] == 403
    assert (await as_admin.call("POST", "policies", {"policy": {"blob": "{}"}}))[0] == 400
    response = await client.get(
        f"/events/v1/resources/policy/{policy['id']}",
        headers={"X-Auth-Token": as_admin.token or ""},
    )
    assert (await response.json())["policy"]["type"] == "text/yaml"
    assert (await as_admin.call("DELETE", path))[0] == 204
    assert (await as_admin.call("GET", path))[0] == 404


# --- application credentials ---------------------------------------------------------


async def test_application_credential_lifecycle(client: Client, as_admin: Api) -> None:
    person = await make_person(as_admin, "member", "appy")
    me = Api(client, person.token)
    path = f"users/{person.user_id}/application_credentials"
    status, body = await me.call(
        "POST", path, {"application_credential": {"name": "ci", "roles": [{"name": "reader"}]}}
    )
    assert status == 201
    credential = body["application_credential"]
    secret = credential["secret"]
    assert secret and credential["project_id"] == person.project_id
    assert [r["name"] for r in credential["roles"]] == ["reader"]
    assert credential["user_id"] == person.user_id and credential["unrestricted"] is False
    status, body = await me.call("GET", f"{path}/{credential['id']}")
    assert status == 200 and "secret" not in body["application_credential"]
    assert body["application_credential"]["name"] == "ci"
    _, body = await me.call("GET", path)
    assert ids(body["application_credentials"]) == {credential["id"]}
    assert all("secret" not in c for c in body["application_credentials"])
    _, body = await me.call("GET", f"{path}?name=ci")
    assert ids(body["application_credentials"]) == {credential["id"]}
    status, _ = await me.call("POST", path, {"application_credential": {"name": "ci"}})
    assert status == 409
    status, _ = await me.call(
        "POST", path, {"application_credential": {"name": "x", "roles": [{"name": "admin"}]}}
    )
    assert status == 403

    by_id = {"auth": {"identity": {"methods": ["application_credential"],
             "application_credential": {"id": credential["id"], "secret": secret}}}}  # fmt: skip
    response = await client.post("/identity/v3/auth/tokens", json=by_id)
    assert response.status == 201
    token = (await response.json())["token"]
    assert token["methods"] == ["application_credential"]
    assert [r["name"] for r in token["roles"]] == ["reader"]
    assert token["project"]["id"] == person.project_id
    assert token["application_credential"]["id"] == credential["id"]
    app_token = response.headers["X-Subject-Token"]

    by_name = {"auth": {"identity": {"methods": ["application_credential"],
               "application_credential": {"name": "ci", "secret": secret, "user": {
                   "name": "appy", "domain": {"id": "default"}}}}}}  # fmt: skip
    response = await client.post("/identity/v3/auth/tokens", json=by_name)
    assert response.status == 201
    wrong = {"auth": {"identity": {"methods": ["application_credential"],
             "application_credential": {"id": credential["id"], "secret": "nope"}}}}  # fmt: skip
    assert (await client.post("/identity/v3/auth/tokens", json=wrong)).status == 401

    as_app = Api(client, app_token)
    assert (await as_app.call("GET", "auth/catalog"))[0] == 200
    assert (await me.call("DELETE", f"{path}/{credential['id']}"))[0] == 204
    assert (await as_app.call("GET", "auth/catalog"))[0] == 401
    assert (await me.call("GET", f"{path}/{credential['id']}"))[0] == 404
    assert (await client.post("/identity/v3/auth/tokens", json=by_id)).status == 401


async def test_application_credential_of_another_user_path_is_404(
    client: Client, as_admin: Api, admin: Bootstrapped
) -> None:
    person = await make_person(as_admin, "member", "appo")
    me = Api(client, person.token)
    path = f"users/{person.user_id}/application_credentials"
    _, body = await me.call("POST", path, {"application_credential": {"name": "mine"}})
    credential_id = body["application_credential"]["id"]
    other = f"users/{admin.admin_user_id}/application_credentials/{credential_id}"
    status, body = await as_admin.call("GET", other)
    assert status == 404
    assert body["error"]["message"] == f"Could not find application credential: {credential_id}."
