"""Metadefs namespaces through Glance's HTTP API as the admin: create with contents, show,
list with filters and pages, update (rename), delete with `protected`, the schemas, and
the errors Glance gives (409 duplicates, 400 bad input, 403 read-only, 404 unknown)."""

from typing import Any

import pytest

from service.image.metadefs.schema import SCHEMAS

from .conftest import Images, make_namespace

HYPERVISOR = {"title": "Hypervisor Type", "type": "string", "enum": ["kvm", "qemu"]}


async def test_every_metadefs_schema_is_served_by_its_name(md_admin: Images) -> None:
    names = {
        "namespace": "namespace",
        "namespaces": "namespaces",
        "object": "object",
        "objects": "objects",
        "property": "property",
        "properties": "properties",
        "tag": "tag",
        "tags": "tags",
        "resource_type": "resource_type_association",
        "resource_types": "resource_type_associations",
    }
    assert set(names) == set(SCHEMAS)
    for path, name in names.items():
        reply = await md_admin.call("GET", f"schemas/metadefs/{path}")
        assert (reply.status, reply.body["name"]) == (200, name), path
    assert (await md_admin.call("GET", "schemas/metadefs/nothing")).status == 404


async def test_a_namespace_is_created_with_its_contents_and_shown_with_them(
    md_admin: Images,
) -> None:
    created = await make_namespace(
        md_admin,
        "OS::Compute::Test",
        display_name="Test",
        description="For tests",
        visibility="public",
        protected=True,
        resource_type_associations=[{"name": "OS::Glance::Image", "prefix": "hw_"}],
        properties={"hypervisor": HYPERVISOR},
        objects=[
            {
                "name": "CPU",
                "required": ["cores"],
                "properties": {"cores": {"title": "Cores", "type": "integer", "minimum": 1}},
            }
        ],
        tags=[{"name": "fast"}, {"name": "cheap"}],
    )
    assert created["self"] == "/v2/metadefs/namespaces/OS::Compute::Test"
    shown = (await md_admin.call("GET", "metadefs/namespaces/OS::Compute::Test")).body
    assert shown == created
    assert {k: shown[k] for k in ("namespace", "display_name", "visibility", "protected")} == {
        "namespace": "OS::Compute::Test",
        "display_name": "Test",
        "visibility": "public",
        "protected": True,
    }
    assert shown["properties"] == {"hypervisor": HYPERVISOR}
    assert [t["name"] for t in shown["tags"]] == ["fast", "cheap"]
    [association] = shown["resource_type_associations"]
    assert (association["name"], association["prefix"]) == ("OS::Glance::Image", "hw_")
    [cpu] = shown["objects"]
    assert cpu["self"] == "/v2/metadefs/namespaces/OS::Compute::Test/objects/CPU"
    assert cpu["properties"]["cores"]["minimum"] == 1

    # As OS::Glance::Image knows them: the association's prefix before every property name.
    prefixed = await md_admin.call(
        "GET", "metadefs/namespaces/OS::Compute::Test?resource_type=OS::Glance::Image"
    )
    assert list(prefixed.body["properties"]) == ["hw_hypervisor"]
    assert list(prefixed.body["objects"][0]["properties"]) == ["hw_cores"]
    assert prefixed.body["objects"][0]["required"] == ["hw_cores"]


async def test_update_replaces_the_attributes_and_may_rename(md_admin: Images) -> None:
    await make_namespace(md_admin, "old", display_name="Old", visibility="public", protected=True)
    reply = await md_admin.call(
        "PUT", "metadefs/namespaces/old", json={"namespace": "new", "description": "renamed"}
    )
    assert reply.status == 200, reply.body
    assert reply.body["namespace"] == "new"
    assert reply.body["description"] == "renamed"
    # What the body leaves out takes Glance's defaults again.
    assert (reply.body["visibility"], reply.body["protected"]) == ("private", False)
    assert "display_name" not in reply.body
    assert (await md_admin.call("GET", "metadefs/namespaces/old")).status == 404
    assert (await md_admin.call("GET", "metadefs/namespaces/new")).status == 200


async def test_a_protected_namespace_refuses_deletion_until_unprotected(md_admin: Images) -> None:
    await make_namespace(md_admin, "guarded", protected=True, tags=[{"name": "t"}])
    for path in ("", "/objects", "/properties", "/tags", "/tags/t"):
        reply = await md_admin.call("DELETE", f"metadefs/namespaces/guarded{path}")
        assert reply.status == 403, (path, reply.body)
    await md_admin.call("PUT", "metadefs/namespaces/guarded", json={"namespace": "guarded"})
    assert (await md_admin.call("DELETE", "metadefs/namespaces/guarded")).status == 204
    assert (await md_admin.call("GET", "metadefs/namespaces/guarded")).status == 404
    assert (await md_admin.call("DELETE", "metadefs/namespaces/guarded")).status == 404
    await make_namespace(md_admin, "guarded")  # the name is free again


async def test_names_are_unique(md_admin: Images) -> None:
    await make_namespace(md_admin, "one")
    await make_namespace(md_admin, "two")
    again = await md_admin.call("POST", "metadefs/namespaces", json={"namespace": "one"})
    assert again.status == 409
    renamed = await md_admin.call("PUT", "metadefs/namespaces/two", json={"namespace": "one"})
    assert renamed.status == 409
    twice = await md_admin.call(
        "POST",
        "metadefs/namespaces",
        json={"namespace": "three", "tags": [{"name": "a"}, {"name": "a"}]},
    )
    assert twice.status == 409
    assert (await md_admin.call("GET", "metadefs/namespaces/three")).status == 404


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"namespace": "x", "visibility": "shared"}, 400),
        ({"namespace": "x" * 81}, 400),
        ({"namespace": "x", "colour": "red"}, 400),
        ({"display_name": "no namespace"}, 400),
        ({"namespace": "x", "protected": "yes"}, 400),
        ({"namespace": "x", "properties": {"p": {"type": "string"}}}, 400),
        ({"namespace": "x", "properties": {"p": {"title": "P", "type": "text"}}}, 400),
        (
            {
                "namespace": "x",
                "properties": {"p": {"title": "P", "type": "string", "minLength": -1}},
            },
            400,
        ),
        (
            {
                "namespace": "x",
                "properties": {"p": {"title": "P", "type": "string", "pattern": "("}},
            },
            400,
        ),
        ({"namespace": "x", "objects": [{"description": "no name"}]}, 400),
        ({"namespace": "x", "created_at": "2020-01-01T00:00:00Z"}, 403),
        ({"namespace": "x", "self": "/elsewhere"}, 403),
    ],
)
async def test_bad_bodies_are_refused(md_admin: Images, body: dict[str, Any], status: int) -> None:
    reply = await md_admin.call("POST", "metadefs/namespaces", json=body)
    assert reply.status == status, reply.body
    assert (await md_admin.call("GET", "metadefs/namespaces/x")).status == 404


async def test_malformed_json_is_a_bad_request(md_admin: Images) -> None:
    reply = await md_admin.call(
        "POST", "metadefs/namespaces", data=b"{", headers={"Content-Type": "application/json"}
    )
    assert reply.status == 400


async def test_list_filters_by_visibility_and_resource_type(md_admin: Images) -> None:
    await make_namespace(
        md_admin,
        "img",
        visibility="public",
        resource_type_associations=[{"name": "OS::Glance::Image"}],
    )
    await make_namespace(
        md_admin, "vol", resource_type_associations=[{"name": "OS::Cinder::Volume"}]
    )
    await make_namespace(md_admin, "none")

    async def names(query: str) -> list[str]:
        reply = await md_admin.call("GET", f"metadefs/namespaces{query}")
        assert reply.status == 200, reply.body
        return [n["namespace"] for n in reply.body["namespaces"]]

    assert await names("") == ["none", "vol", "img"]  # newest first
    assert await names("?sort_dir=asc") == ["img", "vol", "none"]
    assert await names("?sort_key=namespace&sort_dir=asc") == ["img", "none", "vol"]
    assert await names("?visibility=public") == ["img"]
    assert await names("?visibility=private") == ["none", "vol"]
    assert await names("?resource_types=OS::Cinder::Volume") == ["vol"]
    assert await names("?resource_types=OS::Cinder::Volume,OS::Glance::Image") == ["vol", "img"]
    listed = await md_admin.call("GET", "metadefs/namespaces?resource_types=OS::Glance::Image")
    assert listed.body["namespaces"][0]["resource_type_associations"][0]["name"] == (
        "OS::Glance::Image"
    )
    for bad in ("?visibility=shared", "?sort_dir=up", "?sort_key=colour", "?limit=x"):
        assert (await md_admin.call("GET", f"metadefs/namespaces{bad}")).status == 400, bad
    assert (await md_admin.call("GET", "metadefs/namespaces?marker=missing")).status == 404


async def test_list_pages_with_limit_marker_and_next(md_admin: Images) -> None:
    for name in ("a", "b", "c", "d", "e"):
        await make_namespace(md_admin, name)
    seen: list[str] = []
    path = "metadefs/namespaces?limit=2&sort_key=namespace&sort_dir=asc"
    while True:
        body = (await md_admin.call("GET", path)).body
        seen += [n["namespace"] for n in body["namespaces"]]
        assert body["schema"] == "/v2/schemas/metadefs/namespaces"
        if "next" not in body:
            break
        path = body["next"].removeprefix("/v2/")
    assert seen == ["a", "b", "c", "d", "e"]
