"""Who reads and who writes metadefs, as Glance's default policy says: only an admin
writes; a project's reader sees the public namespaces and its project's own, and another
project's private namespace does not exist for it (404), whatever it asks of it."""

from typing import Any

from tests.integration.identity.conftest import Api, Client, Person, make_person

from .conftest import Images, make_namespace

WRITES: list[tuple[str, str, Any]] = [
    ("PUT", "", {"namespace": "shared"}),
    ("DELETE", "", None),
    ("POST", "/objects", {"name": "o2"}),
    ("PUT", "/objects/o", {"name": "o"}),
    ("DELETE", "/objects/o", None),
    ("DELETE", "/objects", None),
    ("POST", "/properties", {"name": "p2", "title": "P", "type": "string"}),
    ("PUT", "/properties/p", {"name": "p", "title": "P", "type": "string"}),
    ("DELETE", "/properties/p", None),
    ("DELETE", "/properties", None),
    ("POST", "/tags/t2", None),
    ("POST", "/tags", {"tags": [{"name": "t2"}]}),
    ("PUT", "/tags/t", {"name": "t3"}),
    ("DELETE", "/tags/t", None),
    ("DELETE", "/tags", None),
    ("POST", "/resource_types", {"name": "OS::Nova::Server"}),
    ("DELETE", "/resource_types/OS::Glance::Image", None),
]
READS = [
    "",
    "/objects",
    "/objects/o",
    "/properties",
    "/properties/p",
    "/tags",
    "/tags/t",
    "/resource_types",
]


async def _full(images: Images, name: str, **attributes: Any) -> None:
    await make_namespace(
        images,
        name,
        objects=[{"name": "o"}],
        tags=[{"name": "t"}],
        properties={"p": {"title": "P", "type": "string"}},
        resource_type_associations=[{"name": "OS::Glance::Image"}],
        **attributes,
    )


async def test_only_an_admin_writes(md_admin: Images, as_alice: Images, alice: Person) -> None:
    refused = await as_alice.call("POST", "metadefs/namespaces", json={"namespace": "mine"})
    assert refused.status == 403, refused.body
    # Not even in a namespace of its own project.
    await _full(md_admin, "shared", visibility="public")
    await _full(md_admin, "alices", owner=alice.project_id)
    for name in ("shared", "alices"):
        for method, path, body in WRITES:
            reply = await as_alice.call(method, f"metadefs/namespaces/{name}{path}", json=body)
            assert reply.status == 403, (name, method, path, reply.body)
    shown = (await md_admin.call("GET", "metadefs/namespaces/shared")).body
    assert [o["name"] for o in shown["objects"]] == ["o"]


async def test_a_private_namespace_is_seen_by_its_project_only(
    md_admin: Images, as_alice: Images, as_bob: Images, alice: Person
) -> None:
    await _full(md_admin, "alices", owner=alice.project_id)
    await _full(md_admin, "admins")
    await _full(md_admin, "public", visibility="public")
    for path in READS:
        assert (await as_alice.call("GET", f"metadefs/namespaces/alices{path}")).status == 200
        assert (await as_alice.call("GET", f"metadefs/namespaces/public{path}")).status == 200
        for who, name in ((as_bob, "alices"), (as_alice, "admins")):
            reply = await who.call("GET", f"metadefs/namespaces/{name}{path}")
            assert reply.status == 404, (name, path, reply.body)
    for who, name in ((as_bob, "alices"), (as_alice, "admins")):
        for method, path, body in WRITES:  # 404 too: not even that it exists
            reply = await who.call(method, f"metadefs/namespaces/{name}{path}", json=body)
            assert reply.status == 404, (name, method, path, reply.body)

    async def names(images: Images, query: str = "") -> list[str]:
        body = (await images.call("GET", f"metadefs/namespaces{query}")).body
        return sorted(n["namespace"] for n in body["namespaces"])

    assert await names(as_alice) == ["alices", "public"]
    assert await names(as_alice, "?visibility=private") == ["alices"]
    assert await names(as_bob) == ["public"]
    assert await names(md_admin) == ["admins", "alices", "public"]
    marker = await as_bob.call("GET", "metadefs/namespaces?marker=alices")
    assert marker.status == 404


async def test_a_reader_reads_and_without_a_token_nothing(
    client: Client, as_admin: Api, md_admin: Images, alice: Person
) -> None:
    reader = Images(client, (await make_person(as_admin, "reader", "rita", alice.project_id)).token)
    await _full(md_admin, "alices", owner=alice.project_id)
    assert (await reader.call("GET", "metadefs/namespaces/alices/tags")).status == 200
    assert (await reader.call("GET", "metadefs/resource_types")).status == 200
    assert (await reader.call("DELETE", "metadefs/namespaces/alices/tags/t")).status == 403
    anonymous = Images(client, None)
    for path in ("metadefs/namespaces", "metadefs/namespaces/alices", "metadefs/resource_types"):
        assert (await anonymous.call("GET", path)).status == 401, path
