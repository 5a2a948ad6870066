"""Application credentials' access rules over HTTP: the rules a credential is made with,
the user's rules (shared, listed, deleted once unused), and tokens that work only for the
requests their rules name."""

import pytest

from service.identity.access_rules import AccessRule, permits
from tests.integration.identity.conftest import Api, Client, make_person

IPS = {"service": "compute", "method": "GET", "path": "/v2.1/servers/*/ips"}


async def app_token(client: Client, credential_id: str, secret: str) -> str:
    method = {"id": credential_id, "secret": secret}
    identity = {"methods": ["application_credential"], "application_credential": method}
    body = {"auth": {"identity": identity}}
    response = await client.post("/identity/v3/auth/tokens", json=body)
    assert response.status == 201, await response.text()
    token = (await response.json())["token"]
    assert [dict(r, id=None) for r in token["application_credential"]["access_rules"]] == [
        dict(IPS, id=None)
    ]
    return response.headers["X-Subject-Token"]


async def test_a_credential_s_tokens_make_only_the_requests_its_rules_name(
    client: Client, as_admin: Api
) -> None:
    person = await make_person(as_admin, "member", "ruled")
    me = Api(client, person.token)
    path = f"users/{person.user_id}/application_credentials"
    body = {"application_credential": {"name": "ips", "access_rules": [IPS]}}
    status, made = await me.call("POST", path, body)
    assert status == 201, made
    credential = made["application_credential"]
    [rule] = credential["access_rules"]
    assert {k: v for k, v in rule.items() if k != "id"} == IPS

    token = await app_token(client, credential["id"], credential["secret"])
    headers = {"X-Auth-Token": token}
    allowed = await client.get("/compute/v2.1/servers/0a1b/ips", headers=headers)
    assert allowed.status == 404  # let through: there is no such server
    for refused in ("/compute/v2.1/servers", "/image/v2/images", "/identity/v3/auth/catalog"):
        assert (await client.get(refused, headers=headers)).status == 401, refused
    deep = await client.get("/compute/v2.1/servers/0a1b/ips/net", headers=headers)
    assert deep.status == 401  # * is one segment


async def test_a_user_s_rules_are_shared_and_go_once_unused(client: Client, as_admin: Api) -> None:
    person = await make_person(as_admin, "member", "rules")
    me = Api(client, person.token)
    path = f"users/{person.user_id}/application_credentials"
    made = [
        (await me.call("POST", path, {"application_credential": {"name": n, "access_rules": r}}))[1]
        for n, r in (("a", [IPS]), ("b", [IPS]))
    ]
    first, second = [m["application_credential"] for m in made]
    rule_id = first["access_rules"][0]["id"]
    assert second["access_rules"][0]["id"] == rule_id
    by_id = {"application_credential": {"name": "c", "access_rules": [{"id": rule_id}]}}
    status, third = await me.call("POST", path, by_id)
    assert (
        status == 201 and third["application_credential"]["access_rules"][0]["path"] == IPS["path"]
    )

    rules = f"users/{person.user_id}/access_rules"
    _, listed = await me.call("GET", rules)
    assert [r["id"] for r in listed["access_rules"]] == [rule_id]
    status, shown = await me.call("GET", f"{rules}/{rule_id}")
    assert status == 200 and shown["access_rule"]["service"] == "compute"
    other = Api(client, (await make_person(as_admin, "member", "nosy")).token)
    assert (await other.call("GET", f"{rules}/{rule_id}"))[0] == 403
    assert (await me.call("DELETE", f"{rules}/{rule_id}"))[0] == 403  # in use
    for credential in (first, second, third["application_credential"]):
        assert (await me.call("DELETE", f"{path}/{credential['id']}"))[0] == 204
    _, listed = await me.call("GET", rules)
    assert [r["id"] for r in listed["access_rules"]] == [rule_id]  # kept until deleted
    assert (await me.call("DELETE", f"{rules}/{rule_id}"))[0] == 204
    assert (await me.call("GET", f"{rules}/{rule_id}"))[0] == 404


@pytest.mark.parametrize(
    "rule",
    [
        {"service": "compute", "method": "FETCH", "path": "/v2.1/servers"},
        {"service": "compute", "method": "GET"},
        {"service": "compute", "method": "GET", "path": "v2.1/servers"},
        {"id": "no-such-rule"},
    ],
)
async def test_bad_rules_are_refused(client: Client, as_admin: Api, rule: dict[str, str]) -> None:
    person = await make_person(as_admin, "member", "badrule")
    me = Api(client, person.token)
    path = f"users/{person.user_id}/application_credentials"
    status, _ = await me.call(
        "POST", path, {"application_credential": {"name": "x", "access_rules": [rule]}}
    )
    assert status in (400, 404)
    _, listed = await me.call("GET", path)
    assert listed["application_credentials"] == []


@pytest.mark.parametrize(
    ("pattern", "method", "path", "allowed"),
    [
        ("/v2.1/servers", "GET", "/compute/v2.1/servers", True),
        ("/v2.1/servers", "GET", "/compute/v2.1/servers/", True),
        ("/v2.1/servers", "POST", "/compute/v2.1/servers", False),
        ("/v2.1/servers/*", "GET", "/compute/v2.1/servers/x", True),
        ("/v2.1/servers/*", "GET", "/compute/v2.1/servers/x/ips", False),
        ("/v2.1/servers/**", "GET", "/compute/v2.1/servers/x/ips", True),
        ("/v2.1/servers/**", "GET", "/compute/v2.1/servers", True),
        ("/v2.1/**/ips", "GET", "/compute/v2.1/servers/x/ips", True),
        ("/v2.1/servers", "GET", "/image/v2.1/servers", False),
        ("/v2.1/servers", "GET", "/computer/v2.1/servers", False),
    ],
)
def test_rule_paths(pattern: str, method: str, path: str, allowed: bool) -> None:
    rules = (AccessRule(id="r", service="compute", method="GET", path=pattern),)
    assert permits(rules, method, path) is allowed
