"""Unified limits (/v3/registered_limits, /v3/limits): Keystone's shapes, its validation
(no limit without a registered limit, no duplicates, references must exist), and its
policy (admins write; anyone reads the defaults; a project sees only its own limits)."""

from typing import Any

import pytest

from .conftest import Api, Client, Person, make_person


@pytest.fixture
async def glance_id(as_admin: Api) -> str:
    status, body = await as_admin.call("GET", "services?type=image")
    assert status == 200, body
    service_id: str = body["services"][0]["id"]
    return service_id


async def register(as_admin: Api, service_id: str, resource: str, default: int) -> dict[str, Any]:
    new = {"service_id": service_id, "resource_name": resource, "default_limit": default}
    status, body = await as_admin.call("POST", "registered_limits", {"registered_limits": [new]})
    assert status == 201, body
    registered: dict[str, Any] = body["registered_limits"][0]
    return registered


async def limit_for(
    as_admin: Api, service_id: str, project_id: str, resource: str, value: int
) -> tuple[int, Any]:
    new = {
        "service_id": service_id,
        "project_id": project_id,
        "resource_name": resource,
        "resource_limit": value,
        "description": "for the test",
    }
    return await as_admin.call("POST", "limits", {"limits": [new]})


async def test_registered_limits_crud(as_admin: Api, glance_id: str) -> None:
    made = await register(as_admin, glance_id, "widgets", 10)
    assert made | {"links": None} == {
        "id": made["id"],
        "service_id": glance_id,
        "region_id": None,
        "resource_name": "widgets",
        "default_limit": 10,
        "description": None,
        "links": None,
    }
    assert made["links"]["self"].endswith(f"/v3/registered_limits/{made['id']}")

    status, body = await as_admin.call("GET", f"registered_limits?service_id={glance_id}")
    assert status == 200
    assert made["id"] in [r["id"] for r in body["registered_limits"]]
    status, body = await as_admin.call(
        "PATCH", f"registered_limits/{made['id']}", {"registered_limit": {"default_limit": 20}}
    )
    assert (status, body["registered_limit"]["default_limit"]) == (200, 20)
    status, body = await as_admin.call("GET", f"registered_limits/{made['id']}")
    assert (status, body["registered_limit"]["default_limit"]) == (200, 20)
    assert (await as_admin.call("DELETE", f"registered_limits/{made['id']}"))[0] == 204
    assert (await as_admin.call("GET", f"registered_limits/{made['id']}"))[0] == 404


async def test_registered_limits_are_validated(as_admin: Api, glance_id: str) -> None:
    await register(as_admin, glance_id, "gadgets", 5)
    duplicate = {"service_id": glance_id, "resource_name": "gadgets", "default_limit": 6}
    status, _ = await as_admin.call("POST", "registered_limits", {"registered_limits": [duplicate]})
    assert status == 409
    for bad in (
        {"service_id": "nope", "resource_name": "x", "default_limit": 1},
        {"service_id": glance_id, "resource_name": "x", "default_limit": -2},
        {"service_id": glance_id, "resource_name": "", "default_limit": 1},
        {"service_id": glance_id, "resource_name": "x", "default_limit": 1, "region_id": "Nowhere"},
        {"service_id": glance_id, "resource_name": "x", "default_limit": 1, "colour": "red"},
    ):
        status, body = await as_admin.call(
            "POST", "registered_limits", {"registered_limits": [bad]}
        )
        assert status == 400, (bad, body)
    # all or nothing: a batch with one duplicate stores none
    batch = [{"service_id": glance_id, "resource_name": "fresh", "default_limit": 1}, duplicate]
    assert (await as_admin.call("POST", "registered_limits", {"registered_limits": batch}))[
        0
    ] == 409
    status, body = await as_admin.call("GET", "registered_limits?resource_name=fresh")
    assert body["registered_limits"] == []


async def test_limits_crud_and_their_rules(as_admin: Api, client: Client, glance_id: str) -> None:
    member = await make_person(as_admin, "member", "limited")
    other = await make_person(as_admin, "member", "unlimited")
    status, body = await limit_for(as_admin, glance_id, member.project_id, "sprockets", 3)
    assert (status, body["error"]["code"]) == (403, 403)  # no registered limit yet
    await register(as_admin, glance_id, "sprockets", 10)
    status, body = await limit_for(as_admin, glance_id, member.project_id, "sprockets", 3)
    assert status == 201, body
    made = body["limits"][0]
    assert {k: made[k] for k in ("project_id", "domain_id", "service_id", "resource_limit")} == {
        "project_id": member.project_id,
        "domain_id": None,
        "service_id": glance_id,
        "resource_limit": 3,
    }
    assert (await limit_for(as_admin, glance_id, member.project_id, "sprockets", 4))[0] == 409
    assert (await limit_for(as_admin, glance_id, "no-such-project", "sprockets", 4))[0] == 400
    status, body = await as_admin.call(
        "PATCH", f"limits/{made['id']}", {"limit": {"resource_limit": 5}}
    )
    assert (status, body["limit"]["resource_limit"]) == (200, 5)

    # the registered limit a limit refers to can be neither moved nor deleted
    registered = (await as_admin.call("GET", "registered_limits?resource_name=sprockets"))[1]
    registered_id = registered["registered_limits"][0]["id"]
    assert (await as_admin.call("DELETE", f"registered_limits/{registered_id}"))[0] == 403
    moved = {"registered_limit": {"resource_name": "cogs"}}
    assert (await as_admin.call("PATCH", f"registered_limits/{registered_id}", moved))[0] == 403

    await check_what_projects_see(client, member, other, made["id"])
    assert (await as_admin.call("DELETE", f"limits/{made['id']}"))[0] == 204
    assert (await as_admin.call("GET", f"limits/{made['id']}"))[0] == 404
    assert (await as_admin.call("DELETE", f"registered_limits/{registered_id}"))[0] == 204


async def check_what_projects_see(
    client: Client, member: Person, other: Person, limit_id: str
) -> None:
    as_member, as_other = Api(client, member.token), Api(client, other.token)
    status, body = await as_member.call("GET", "limits")
    assert (status, [x["id"] for x in body["limits"]]) == (200, [limit_id])
    assert (await as_member.call("GET", f"limits/{limit_id}"))[0] == 200
    assert (await as_other.call("GET", "limits"))[1]["limits"] == []
    assert (await as_other.call("GET", f"limits/{limit_id}"))[0] == 403
    status, body = await as_other.call("GET", "registered_limits")
    assert status == 200 and body["registered_limits"]
    assert (await as_member.call("PATCH", f"limits/{limit_id}", {"limit": {}}))[0] == 403
    assert (await as_member.call("DELETE", f"limits/{limit_id}"))[0] == 403
    status, body = await as_member.call("GET", "limits/model")
    assert (status, body["model"]["name"]) == (200, "flat")
