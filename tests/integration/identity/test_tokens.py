"""Tokens: issue by password (id or name), scopes, validate, check, revoke, rescope."""

import pytest

from events.postgres import PostgresEventStore
from service.config import Settings
from service.identity.bootstrap import Bootstrapped
from service.identity.runtime import Identity
from service.identity.token_format import InvalidToken
from tests.integration.identity.conftest import (
    ADMIN_PASSWORD,
    Api,
    Client,
    make_person,
    password_auth,
    token_for,
)


async def test_password_token_scoped_to_a_project_has_roles_and_catalog(client: Client) -> None:
    response = await client.post(
        "/identity/v3/auth/tokens", json=password_auth("admin", ADMIN_PASSWORD, project="admin")
    )
    assert response.status == 201
    assert response.headers["X-Subject-Token"]
    token = (await response.json())["token"]
    assert token["methods"] == ["password"]
    assert token["user"]["name"] == "admin" and token["user"]["domain"]["id"] == "default"
    assert token["project"]["name"] == "admin" and token["is_domain"] is False
    assert {r["name"] for r in token["roles"]} == {"admin", "manager", "member", "reader"}
    types = {s["type"]: s for s in token["catalog"]}
    assert {"identity", "compute", "image", "object-store", "network", "event-stream"} <= set(types)
    swift = types["object-store"]["endpoints"]
    assert {e["interface"] for e in swift} == {"public", "internal", "admin"}
    assert all(e["url"].endswith(f"/object/v1/AUTH_{token['project']['id']}") for e in swift)
    assert all(e["region_id"] == "RegionOne" for e in swift)
    assert len(token["audit_ids"]) == 1 and token["expires_at"].endswith("Z")


async def test_user_by_id_and_nocatalog(client: Client, admin: Bootstrapped) -> None:
    body = {"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"id": admin.admin_user_id, "password": ADMIN_PASSWORD}}},
        "scope": {"project": {"id": admin.admin_project_id}}}}  # fmt: skip
    response = await client.post("/identity/v3/auth/tokens?nocatalog", json=body)
    assert response.status == 201
    assert "catalog" not in (await response.json())["token"]


async def test_wrong_password_and_unknown_user_are_401(client: Client) -> None:
    for body in (password_auth("admin", "nope"), password_auth("nobody", "x")):
        response = await client.post("/identity/v3/auth/tokens", json=body)
        assert response.status == 401
        error = (await response.json())["error"]
        assert error["code"] == 401 and error["title"] == "Unauthorized"


async def test_malformed_auth_body_is_400(client: Client) -> None:
    response = await client.post("/identity/v3/auth/tokens", json={"auth": {"identity": 3}})
    assert response.status == 400
    response = await client.post("/identity/v3/auth/tokens", data=b"{not json")
    assert response.status == 400


async def test_unscoped_token_then_rescoped_by_token(client: Client, as_admin: Api) -> None:
    unscoped = password_auth("admin", ADMIN_PASSWORD)
    unscoped["auth"]["scope"] = "unscoped"
    response = await client.post("/identity/v3/auth/tokens", json=unscoped)
    first = await response.json()
    assert "project" not in first["token"] and "catalog" not in first["token"]
    body = {"auth": {"identity": {"methods": ["token"], "token": {
        "id": response.headers["X-Subject-Token"]}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}  # fmt: skip
    response = await client.post("/identity/v3/auth/tokens", json=body)
    assert response.status == 201
    token = (await response.json())["token"]
    assert token["project"]["name"] == "admin"
    assert token["audit_ids"][1] == first["token"]["audit_ids"][0]
    assert token["expires_at"] == first["token"]["expires_at"]
    assert token["methods"] == ["password", "token"]


async def test_default_project_scope_when_none_is_asked(client: Client) -> None:
    response = await client.post(
        "/identity/v3/auth/tokens", json=password_auth("admin", ADMIN_PASSWORD)
    )
    assert (await response.json())["token"]["project"]["name"] == "admin"


async def test_validate_check_and_revoke(client: Client, as_admin: Api) -> None:
    person = await make_person(as_admin, "member", "val1")
    headers = {"X-Auth-Token": person.token, "X-Subject-Token": person.token}
    response = await client.get("/identity/v3/auth/tokens", headers=headers)
    assert response.status == 200
    assert (await response.json())["token"]["user"]["id"] == person.user_id
    assert (await client.head("/identity/v3/auth/tokens", headers=headers)).status == 200
    response = await client.delete("/identity/v3/auth/tokens", headers={
        "X-Auth-Token": as_admin.token, "X-Subject-Token": person.token})  # fmt: skip
    assert response.status == 204
    response = await client.get("/identity/v3/auth/tokens", headers={
        "X-Auth-Token": as_admin.token, "X-Subject-Token": person.token})  # fmt: skip
    assert response.status == 404
    assert (
        await client.get("/identity/v3/auth/projects", headers={"X-Auth-Token": person.token})
    ).status == 401


async def test_the_identity_api_refuses_a_token_another_process_revoked_a_moment_ago(
    client: Client, as_admin: Api, settings: Settings, store: PostgresEventStore
) -> None:
    """A serving process that has not heard of a revocation yet still takes the token for
    other APIs, but the identity API's own checks read the database (Tempest's
    test_validate_token failed once with two serving processes)."""
    person = await make_person(as_admin, "member", "val2")
    elsewhere = Identity(settings, store)  # another process's view, not following the log
    await elsewhere.revocations.load(store.pool)
    response = await client.delete("/identity/v3/auth/tokens", headers={
        "X-Auth-Token": as_admin.token, "X-Subject-Token": person.token})  # fmt: skip
    assert response.status == 204
    assert (await elsewhere.validate(person.token)).user_id == person.user_id
    with pytest.raises(InvalidToken):
        await elsewhere.validate(person.token, fresh=True)


async def test_password_change_revokes_older_tokens_at_once(client: Client, as_admin: Api) -> None:
    person = await make_person(as_admin, "member", "pwrev")
    status, _ = await as_admin.call(
        "PATCH", f"users/{person.user_id}", {"user": {"password": "new-pw-1"}}
    )
    assert status == 200
    response = await client.get(
        "/identity/v3/auth/projects", headers={"X-Auth-Token": person.token}
    )
    assert response.status == 401
    fresh = await token_for(client, {"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"id": person.user_id, "password": "new-pw-1"}}}}})  # fmt: skip
    response = await client.get("/identity/v3/auth/projects", headers={"X-Auth-Token": fresh})
    assert response.status == 200
    assert [p["id"] for p in (await response.json())["projects"]] == [person.project_id]


async def test_removing_the_role_or_disabling_the_project_invalidates_the_token(
    client: Client, as_admin: Api
) -> None:
    person = await make_person(as_admin, "member", "rolerev")
    me = Api(client, person.token)
    assert (await me.call("GET", "auth/catalog"))[0] == 200
    _, roles = await as_admin.call("GET", "roles?name=member")
    role_id = roles["roles"][0]["id"]
    status, _ = await as_admin.call(
        "DELETE", f"projects/{person.project_id}/users/{person.user_id}/roles/{role_id}"
    )
    assert status == 204
    assert (await me.call("GET", "auth/catalog"))[0] == 401
    other = await make_person(as_admin, "reader", "projdis")
    status, _ = await as_admin.call(
        "PATCH", f"projects/{other.project_id}", {"project": {"enabled": False}}
    )
    assert status == 200
    assert (await Api(client, other.token).call("GET", "auth/catalog"))[0] == 401


async def test_tokens_from_a_restarted_app_with_the_same_keys_still_validate(
    client: Client, settings: object, store: object, admin_token: str
) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    from service.app import create_app

    async with TestClient(TestServer(create_app(settings, store))) as second:  # type: ignore[arg-type]
        response = await second.get("/identity/v3/auth/tokens", headers={
            "X-Auth-Token": admin_token, "X-Subject-Token": admin_token})  # fmt: skip
        assert response.status == 200


async def test_lockout_after_failed_attempts(client: Client, as_admin: Api) -> None:
    person = await make_person(as_admin, "member", "locky")
    for _ in range(2):
        response = await client.post("/identity/v3/auth/tokens", json=password_auth("locky", "bad"))
        assert response.status == 401
    response = await client.post(
        "/identity/v3/auth/tokens", json=password_auth("locky", person.password)
    )
    assert response.status == 401
    assert "locked" in (await response.json())["error"]["message"]
