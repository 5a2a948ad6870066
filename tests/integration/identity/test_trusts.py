"""Trusts over HTTP (OS-TRUST): a trustor delegates roles it holds on a project to a
trustee, who gets tokens scoped to the trust; uses counted, deletion ending the tokens,
impersonation, and who may see and do what."""

from typing import Any

from tests.integration.identity.conftest import (
    Api,
    Client,
    Person,
    make_person,
    password_auth,
)

TRUSTS = "OS-TRUST/trusts"


async def trust_token(client: Client, trustee: Person, trust_id: str) -> tuple[int, Any, str]:
    """(status, body, token) of the trustee's password login scoped to the trust."""
    body = password_auth(trustee.name, trustee.password)
    body["auth"]["scope"] = {"OS-TRUST:trust": {"id": trust_id}}
    response = await client.post("/identity/v3/auth/tokens", json=body)
    return response.status, await response.json(), response.headers.get("X-Subject-Token", "")


async def make_trust(api: Api, trustor: Person, trustee: Person, **extra: Any) -> dict[str, Any]:
    body = {
        "trustor_user_id": trustor.user_id,
        "trustee_user_id": trustee.user_id,
        "project_id": trustor.project_id,
        "impersonation": False,
        "roles": [{"name": "member"}],
    } | extra
    status, made = await api.call("POST", TRUSTS, {"trust": body})
    assert status == 201, made
    return dict(made["trust"])


async def test_a_trustee_acts_with_the_delegated_roles_until_the_trust_goes(
    client: Client, as_admin: Api
) -> None:
    trustor = await make_person(as_admin, "member", "tina")
    trustee = await make_person(as_admin, "member", "ted")
    as_trustor = Api(client, trustor.token)
    trust = await make_trust(as_trustor, trustor, trustee, remaining_uses=2)
    assert [r["name"] for r in trust["roles"]] == ["member"]
    assert trust["remaining_uses"] == 2 and trust["expires_at"] is None
    assert trust["links"]["self"].endswith(f"/v3/{TRUSTS}/{trust['id']}")

    status, body, token = await trust_token(client, trustee, trust["id"])
    assert status == 201, body
    scoped = body["token"]
    assert scoped["user"]["id"] == trustee.user_id
    assert scoped["project"]["id"] == trustor.project_id
    assert [r["name"] for r in scoped["roles"]] == ["member", "reader"]
    assert scoped["OS-TRUST:trust"] == {
        "id": trust["id"],
        "impersonation": False,
        "trustor_user": {"id": trustor.user_id},
        "trustee_user": {"id": trustee.user_id},
    }
    servers = await client.get("/compute/v2.1/servers", headers={"X-Auth-Token": token})
    assert servers.status == 200
    _, shown = await as_trustor.call("GET", f"{TRUSTS}/{trust['id']}")
    assert shown["trust"]["remaining_uses"] == 1

    as_trustee = Api(client, token)
    again = {"auth": {"identity": {"methods": ["token"], "token": {"id": token}}}}
    assert (await client.post("/identity/v3/auth/tokens", json=again)).status == 403
    refused = await as_trustee.call("POST", TRUSTS, {"trust": {}})
    assert refused[0] in (400, 403)

    assert (await trust_token(client, trustee, trust["id"]))[0] == 201
    assert (await trust_token(client, trustee, trust["id"]))[0] == 403  # no uses left
    assert (await as_trustor.call("DELETE", f"{TRUSTS}/{trust['id']}"))[0] == 204
    after = await client.get("/compute/v2.1/servers", headers={"X-Auth-Token": token})
    assert after.status == 401
    assert (await as_trustor.call("GET", f"{TRUSTS}/{trust['id']}"))[0] == 404


async def test_impersonation_acts_as_the_trustor(client: Client, as_admin: Api) -> None:
    trustor = await make_person(as_admin, "member", "ivy")
    trustee = await make_person(as_admin, "member", "ian")
    trust = await make_trust(Api(client, trustor.token), trustor, trustee, impersonation=True)
    status, body, _ = await trust_token(client, trustee, trust["id"])
    assert status == 201, body
    assert body["token"]["user"]["id"] == trustor.user_id
    assert body["token"]["OS-TRUST:trust"]["impersonation"] is True
    other = await make_person(as_admin, "member", "imp")
    assert (await trust_token(client, other, trust["id"]))[0] == 403  # not its trustee


async def test_who_may_see_and_make_trusts(client: Client, as_admin: Api) -> None:
    trustor = await make_person(as_admin, "member", "sam")
    trustee = await make_person(as_admin, "member", "sue")
    stranger = await make_person(as_admin, "member", "sid")
    as_trustor, as_trustee = Api(client, trustor.token), Api(client, trustee.token)
    trust = await make_trust(as_trustor, trustor, trustee)
    path = f"{TRUSTS}/{trust['id']}"
    assert (await as_trustee.call("GET", path))[0] == 200
    assert (await Api(client, stranger.token).call("GET", path))[0] == 403
    assert (await as_trustee.call("DELETE", path))[0] == 403
    _, mine = await as_trustee.call("GET", f"{TRUSTS}?trustee_user_id={trustee.user_id}")
    assert [t["id"] for t in mine["trusts"]] == [trust["id"]]
    assert (await as_trustee.call("GET", TRUSTS))[0] == 403
    assert (await as_trustee.call("GET", f"{TRUSTS}?trustor_user_id={trustor.user_id}"))[0] == 403
    _, every = await as_admin.call("GET", f"{TRUSTS}/")
    assert trust["id"] in [t["id"] for t in every["trusts"]]
    _, roles = await as_trustee.call("GET", f"{path}/roles")
    [member] = [r["id"] for r in roles["roles"]]
    assert (await as_trustee.call("GET", f"{path}/roles/{member}"))[0] == 200
    _, admin_role = await as_admin.call("GET", "roles?name=admin")
    assert (await as_trustee.call("GET", f"{path}/roles/{admin_role['roles'][0]['id']}"))[0] == 404

    body = {
        "trustor_user_id": trustor.user_id,
        "trustee_user_id": trustee.user_id,
        "project_id": trustor.project_id,
        "impersonation": False,
    }
    as_trustee_for_trustor = await as_trustee.call("POST", TRUSTS, {"trust": body})
    assert as_trustee_for_trustor[0] == 403  # only the trustor makes its trusts
    admin_role_ref = {"roles": [{"name": "admin"}]}
    assert (await as_trustor.call("POST", TRUSTS, {"trust": body | admin_role_ref}))[0] == 403
    past = {"expires_at": "2000-01-01T00:00:00Z"}
    assert (await as_trustor.call("POST", TRUSTS, {"trust": body | past}))[0] == 400
    garbled = {"expires_at": "bad.123Z"}
    assert (await as_trustor.call("POST", TRUSTS, {"trust": body | garbled}))[0] == 400

    assert (await as_admin.call("DELETE", f"users/{trustee.user_id}"))[0] == 204
    assert (await as_trustor.call("GET", path))[0] == 404
