"""Who sees and changes which image: projects are isolated, public and community images
are seen by all but changed by their owner only, shared images reach member projects,
and only an admin publishes."""

from tests.integration.identity.conftest import Api, Client, Person, make_person

from .conftest import Images


async def test_another_projects_private_image_does_not_exist_for_you(
    as_alice: Images, as_bob: Images
) -> None:
    image_id = (await as_alice.create(visibility="private"))["id"]
    await as_alice.upload(image_id, b"secret")
    for method, path in [
        ("GET", f"images/{image_id}"),
        ("GET", f"images/{image_id}/file"),
        ("DELETE", f"images/{image_id}"),
        ("PUT", f"images/{image_id}/tags/mine"),
        ("POST", f"images/{image_id}/actions/deactivate"),
    ]:
        assert (await as_bob.call(method, path)).status == 404, (method, path)
    assert (await as_bob.patch(image_id, {"op": "add", "path": "/x", "value": "y"})).status == 404
    assert image_id not in [i["id"] for i in await as_bob.list("?visibility=all")]


async def test_a_reader_of_the_project_sees_but_does_not_change(
    client: Client, as_admin: Api, alice: Person, as_alice: Images
) -> None:
    reader = await make_person(as_admin, "reader", "rita", project_id=alice.project_id)
    as_reader = Images(client, reader.token)
    image_id = (await as_alice.create(name="team", visibility="private"))["id"]
    assert (await as_reader.show(image_id))["name"] == "team"
    assert (await as_reader.patch(image_id, {"op": "replace", "path": "/name",
                                             "value": "x"})).status == 403  # fmt: skip
    assert (await as_reader.call("DELETE", f"images/{image_id}")).status == 403
    assert (await as_reader.upload(image_id, b"data")).status == 403
    assert (await as_reader.call("POST", "images", json={})).status == 403


async def test_public_images_are_published_by_an_admin_and_seen_by_all(
    glance_admin: Images, as_alice: Images, as_bob: Images
) -> None:
    image_id = (await as_alice.create(name="mine"))["id"]
    publish = {"op": "replace", "path": "/visibility", "value": "public"}
    assert (await as_alice.patch(image_id, publish)).status == 403
    assert (await glance_admin.patch(image_id, publish)).status == 200
    assert (await as_bob.show(image_id))["visibility"] == "public"
    assert image_id in [i["id"] for i in await as_bob.list()]
    assert (await as_bob.patch(image_id, {"op": "replace", "path": "/name",
                                          "value": "theirs"})).status == 403  # fmt: skip
    assert (await as_bob.call("DELETE", f"images/{image_id}")).status == 403
    public = await glance_admin.create(visibility="public", name="cirros")
    assert public["visibility"] == "public"


async def test_community_images_are_listed_only_on_request(
    as_alice: Images, as_bob: Images
) -> None:
    image_id = (await as_alice.create(visibility="community"))["id"]
    assert image_id in [i["id"] for i in await as_alice.list()]  # its owner's own
    assert image_id not in [i["id"] for i in await as_bob.list()]
    assert image_id in [i["id"] for i in await as_bob.list("?visibility=community")]
    assert (await as_bob.show(image_id))["visibility"] == "community"


async def test_a_shared_image_reaches_a_member_project_once_accepted(
    alice: Person, bob: Person, as_alice: Images, as_bob: Images
) -> None:
    image_id = (await as_alice.create(visibility="shared", name="shared"))["id"]
    assert (await as_bob.call("GET", f"images/{image_id}")).status == 404
    added = await as_alice.call("POST", f"images/{image_id}/members",
                                json={"member": bob.project_id})  # fmt: skip
    assert added.status == 200, added.body
    assert added.body["status"] == "pending"
    assert added.body["schema"] == "/v2/schemas/member"
    again = await as_alice.call("POST", f"images/{image_id}/members",
                                json={"member": bob.project_id})  # fmt: skip
    assert again.status == 409
    assert (await as_bob.show(image_id))["name"] == "shared"  # seen, though pending
    assert image_id not in [i["id"] for i in await as_bob.list()]
    assert image_id in [i["id"] for i in await as_bob.list("?member_status=pending")]
    member_path = f"images/{image_id}/members/{bob.project_id}"
    assert (await as_alice.call("PUT", member_path, json={"status": "accepted"})).status == 403
    accept = await as_bob.call("PUT", member_path, json={"status": "accepted"})
    assert accept.status == 200 and accept.body["status"] == "accepted"
    assert image_id in [i["id"] for i in await as_bob.list()]
    listed = await as_alice.call("GET", f"images/{image_id}/members")
    assert [m["member_id"] for m in listed.body["members"]] == [bob.project_id]
    assert (await as_bob.call("POST", f"images/{image_id}/members",
                              json={"member": alice.project_id})).status == 403  # fmt: skip
    assert (await as_bob.call("DELETE", f"images/{image_id}")).status == 403
    assert (await as_alice.call("DELETE", member_path)).status == 204
    assert (await as_bob.call("GET", f"images/{image_id}")).status == 404


async def test_only_shared_images_take_members(bob: Person, as_alice: Images) -> None:
    image_id = (await as_alice.create(visibility="private"))["id"]
    reply = await as_alice.call("POST", f"images/{image_id}/members",
                                json={"member": bob.project_id})  # fmt: skip
    assert reply.status == 403


async def test_an_admin_sees_every_image(glance_admin: Images, as_alice: Images) -> None:
    image_id = (await as_alice.create(visibility="private"))["id"]
    assert (await glance_admin.show(image_id))["id"] == image_id
    assert image_id in [i["id"] for i in await glance_admin.list()]


async def test_another_project_can_do_nothing_at_all_to_a_private_image(
    alice: Person, bob: Person, as_alice: Images, as_bob: Images
) -> None:
    image_id = (await as_alice.create(visibility="private", tags=["t"]))["id"]
    before = await as_alice.show(image_id)
    attempts = [
        (
            "PUT",
            f"images/{image_id}/file",
            b"overwrite",
            {"Content-Type": "application/octet-stream"},
        ),
        ("DELETE", f"images/{image_id}/tags/t", None, None),
        ("POST", f"images/{image_id}/actions/reactivate", None, None),
        ("GET", f"images/{image_id}/members", None, None),
        ("GET", f"images/{image_id}/members/{bob.project_id}", None, None),
        ("DELETE", f"images/{image_id}/members/{bob.project_id}", None, None),
    ]
    for method, path, data, headers in attempts:
        assert (await as_bob.call(method, path, data=data, headers=headers)).status == 404, path
    joining = await as_bob.call("POST", f"images/{image_id}/members",
                                json={"member": bob.project_id})  # fmt: skip
    assert joining.status == 404
    accepting = await as_bob.call("PUT", f"images/{image_id}/members/{bob.project_id}",
                                  json={"status": "accepted"})  # fmt: skip
    assert accepting.status == 404
    assert image_id not in [i["id"] for i in await as_bob.list("?member_status=all&visibility=all")]
    assert await as_alice.show(image_id) == before  # nothing changed


async def test_a_shared_image_is_listed_for_a_member_only_once_accepted(
    as_admin: Api, bob: Person, client: Client, as_alice: Images, as_bob: Images
) -> None:
    carol = await make_person(as_admin, "member", "carol")
    as_carol = Images(client, carol.token)
    image_id = (await as_alice.create(visibility="shared"))["id"]
    assert (await as_alice.upload(image_id, b"shared bytes")).status == 204
    await as_alice.call("POST", f"images/{image_id}/members", json={"member": bob.project_id})
    member_path = f"images/{image_id}/members/{bob.project_id}"

    async def listed(query: str = "") -> bool:
        return image_id in [i["id"] for i in await as_bob.list(query)]

    assert not await listed()  # pending
    assert await listed("?member_status=pending")
    assert (await as_bob.call("PUT", member_path, json={"status": "rejected"})).status == 200
    assert not await listed()
    assert await listed("?member_status=rejected")
    assert (await as_bob.call("PUT", member_path, json={"status": "accepted"})).status == 200
    assert await listed()
    assert (await as_bob.call("GET", f"images/{image_id}/file")).raw == b"shared bytes"
    # a member uses the image; it does not change it
    assert (await as_bob.patch(image_id, {"op": "replace", "path": "/name",
                                          "value": "mine"})).status == 403  # fmt: skip
    assert (await as_bob.call("PUT", f"images/{image_id}/tags/mine")).status == 403
    assert (await as_bob.call("POST", f"images/{image_id}/actions/deactivate")).status == 403
    # a project that is not a member sees nothing, whatever it asks for
    assert (await as_carol.call("GET", f"images/{image_id}")).status == 404
    assert image_id not in [
        i["id"] for i in await as_carol.list("?member_status=all&visibility=all")
    ]
    carol_path = f"images/{image_id}/members/{carol.project_id}"
    assert (await as_carol.call("PUT", carol_path, json={"status": "accepted"})).status == 404
