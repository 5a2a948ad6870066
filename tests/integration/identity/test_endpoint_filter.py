"""OS-EP-FILTER over HTTP: endpoint groups, endpoints and groups given to projects, and
the catalog a project's tokens carry (only what it is given, once it is given any)."""

from typing import Any

from tests.integration.identity.conftest import Api, Client, make_person

EP = "OS-EP-FILTER"


async def catalog_of(api: Api) -> dict[str, list[str]]:
    """Service type -> endpoint ids, of the catalog the caller's token carries."""
    _, body = await api.call("GET", "auth/catalog")
    return {s["type"]: sorted(e["id"] for e in s["endpoints"]) for s in body["catalog"]}


async def endpoints_of(api: Api, service_type: str) -> list[dict[str, Any]]:
    """The service's endpoints (public, internal, admin), public first."""
    _, services = await api.call("GET", f"services?type={service_type}")
    service_id = services["services"][0]["id"]
    _, body = await api.call("GET", f"endpoints?service_id={service_id}")
    return sorted(body["endpoints"], key=lambda e: e["interface"] != "public")


async def test_endpoint_groups_crud(client: Client, as_admin: Api) -> None:
    image, *_ = await endpoints_of(as_admin, "image")
    body = {"name": "images", "description": "d", "filters": {"service_id": image["service_id"]}}
    status, created = await as_admin.call("POST", f"{EP}/endpoint_groups", {"endpoint_group": body})
    assert status == 201, created
    group = created["endpoint_group"]
    assert group["filters"] == body["filters"] and group["name"] == "images"
    path = f"{EP}/endpoint_groups/{group['id']}"
    assert group["links"]["self"].endswith(f"/identity/v3/{path}")
    assert (await as_admin.call("GET", path)) == (200, {"endpoint_group": group})
    _, listed = await as_admin.call("GET", f"{EP}/endpoint_groups?name=images")
    assert [g["id"] for g in listed["endpoint_groups"]] == [group["id"]]
    _, matched = await as_admin.call("GET", f"{path}/endpoints")
    every_image = {e["id"] for e in await endpoints_of(as_admin, "image")}
    assert {e["id"] for e in matched["endpoints"]} == every_image
    status, updated = await as_admin.call(
        "PATCH", path, {"endpoint_group": {"filters": {"interface": "public"}, "name": "pub"}}
    )
    assert status == 200 and updated["endpoint_group"]["filters"] == {"interface": "public"}
    bad = {"name": "x", "filters": {"colour": "blue"}}
    assert (await as_admin.call("POST", f"{EP}/endpoint_groups", {"endpoint_group": bad}))[0] == 400
    member = Api(client, (await make_person(as_admin, "member", "epf")).token)
    assert (await member.call("GET", path))[0] == 403
    assert (await as_admin.call("DELETE", path))[0] == 204
    assert (await as_admin.call("GET", path))[0] == 404


async def test_a_project_sees_only_what_it_is_given(client: Client, as_admin: Api) -> None:
    person = await make_person(as_admin, "member", "given")
    other = await make_person(as_admin, "member", "notgiven")
    as_person, as_other = Api(client, person.token), Api(client, other.token)
    everything = await catalog_of(as_other)
    assert await catalog_of(as_person) == everything and len(everything) > 2
    image, *_ = await endpoints_of(as_admin, "image")
    computes = sorted(e["id"] for e in await endpoints_of(as_admin, "compute"))

    given = f"{EP}/projects/{person.project_id}/endpoints/{image['id']}"
    assert (await as_admin.call("GET", given))[0] == 404
    assert (await as_admin.call("PUT", given))[0] == 204
    assert (await as_admin.call("GET", given))[0] == 204
    assert await catalog_of(as_person) == {"image": [image["id"]]}
    assert await catalog_of(as_other) == everything
    _, projects = await as_admin.call("GET", f"{EP}/endpoints/{image['id']}/projects")
    assert [p["id"] for p in projects["projects"]] == [person.project_id]

    filters = {"service_id": (await endpoints_of(as_admin, "compute"))[0]["service_id"]}
    _, created = await as_admin.call(
        "POST", f"{EP}/endpoint_groups", {"endpoint_group": {"name": "c", "filters": filters}}
    )
    group_id = created["endpoint_group"]["id"]
    grant = f"{EP}/endpoint_groups/{group_id}/projects/{person.project_id}"
    assert (await as_admin.call("PUT", grant))[0] == 204
    status, body = await as_admin.call("GET", grant)
    assert status == 200 and body["project_endpoint_group"]["endpoint_group_id"] == group_id
    assert await catalog_of(as_person) == {"image": [image["id"]], "compute": computes}
    _, listed = await as_admin.call("GET", f"{EP}/projects/{person.project_id}/endpoints")
    assert sorted(e["id"] for e in listed["endpoints"]) == sorted([image["id"], *computes])
    _, groups = await as_admin.call("GET", f"{EP}/projects/{person.project_id}/endpoint_groups")
    assert [g["id"] for g in groups["endpoint_groups"]] == [group_id]

    assert (await as_admin.call("DELETE", given))[0] == 204
    assert (await as_admin.call("DELETE", given))[0] == 404
    assert await catalog_of(as_person) == {"compute": computes}
    assert (await as_admin.call("DELETE", f"{EP}/endpoint_groups/{group_id}"))[0] == 204
    assert await catalog_of(as_person) == everything
    _, groups = await as_admin.call("GET", f"{EP}/projects/{person.project_id}/endpoint_groups")
    assert groups["endpoint_groups"] == []


async def test_a_deleted_project_or_endpoint_is_given_nothing(as_admin: Api) -> None:
    person = await make_person(as_admin, "member", "gone")
    _, service = await as_admin.call("POST", "services", {"service": {"type": "dns"}})
    endpoint = {"service_id": service["service"]["id"], "interface": "public", "url": "http://d"}
    _, created = await as_admin.call("POST", "endpoints", {"endpoint": endpoint})
    endpoint_id = created["endpoint"]["id"]
    given = f"{EP}/projects/{person.project_id}/endpoints/{endpoint_id}"
    assert (await as_admin.call("PUT", given))[0] == 204
    assert (await as_admin.call("DELETE", f"endpoints/{endpoint_id}"))[0] == 204
    _, listed = await as_admin.call("GET", f"{EP}/projects/{person.project_id}/endpoints")
    assert listed["endpoints"] == []
    image, *_ = await endpoints_of(as_admin, "image")
    given = f"{EP}/projects/{person.project_id}/endpoints/{image['id']}"
    assert (await as_admin.call("PUT", given))[0] == 204
    assert (await as_admin.call("DELETE", f"projects/{person.project_id}"))[0] == 204
    _, projects = await as_admin.call("GET", f"{EP}/endpoints/{image['id']}/projects")
    assert projects["projects"] == []
