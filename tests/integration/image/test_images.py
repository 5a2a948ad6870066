"""Image records: create, show, JSON-patch, tags, delete, deactivate, schemas, and the
shape of Glance's errors."""

import uuid
from typing import Any

import msgspec

from tests.integration.identity.conftest import Client, Person

from .conftest import Images

GLANCE_FIELDS = {
    "id", "name", "status", "visibility", "protected", "os_hidden", "owner",
    "container_format", "disk_format", "min_disk", "min_ram", "size", "virtual_size",
    "checksum", "os_hash_algo", "os_hash_value", "created_at", "updated_at", "tags", "self",
    "file", "schema",
}  # fmt: skip


async def test_create_gives_a_queued_image_in_glances_shape(
    as_alice: Images, alice: Person
) -> None:
    reply = await as_alice.call(
        "POST", "images",
        json={"name": "cirros", "disk_format": "qcow2", "container_format": "bare",
              "visibility": "private", "tags": ["a", "b"], "ramdisk_id": "r-1", "min_ram": 64},
    )  # fmt: skip
    assert reply.status == 201, reply.body
    image = reply.body
    assert set(image) == GLANCE_FIELDS | {"ramdisk_id"}
    assert image["status"] == "queued"
    assert image["owner"] == alice.project_id
    assert image["size"] is None and image["checksum"] is None and image["os_hash_value"] is None
    assert (image["min_ram"], image["min_disk"], image["protected"]) == (64, 0, False)
    assert sorted(image["tags"]) == ["a", "b"]
    assert image["ramdisk_id"] == "r-1"
    assert image["self"] == f"/v2/images/{image['id']}"
    assert image["file"] == f"/v2/images/{image['id']}/file"
    assert image["schema"] == "/v2/schemas/image"
    assert image["created_at"].endswith("Z")
    assert reply.headers["Location"].endswith(f"/v2/images/{image['id']}")
    assert await as_alice.show(image["id"]) == image


async def test_defaults_are_shared_and_unnamed(as_alice: Images) -> None:
    image = await as_alice.create()
    assert (image["visibility"], image["name"], image["disk_format"]) == ("shared", None, None)


async def test_a_chosen_id_is_kept_and_never_reused(as_alice: Images) -> None:
    image_id = str(uuid.uuid4())
    assert (await as_alice.create(id=image_id))["id"] == image_id
    again = await as_alice.call("POST", "images", json={"id": image_id})
    assert again.status == 409
    assert (await as_alice.call("DELETE", f"images/{image_id}")).status == 204
    assert (await as_alice.call("POST", "images", json={"id": image_id})).status == 409


async def test_invalid_attributes_are_refused(as_alice: Images) -> None:
    cases = [
        ({"disk_format": "floppy"}, 400),
        ({"container_format": "crate"}, 400),
        ({"name": "x" * 256}, 400),
        ({"min_ram": -1}, 400),
        ({"protected": "yes"}, 400),
        ({"custom": 5}, 400),
        ({"id": "not-a-uuid"}, 400),
        ({"status": "active"}, 403),
        ({"checksum": "0" * 32}, 403),
        ({"deleted": True}, 403),
        ({"os_glance_foo": "x"}, 403),
        ({"visibility": "public"}, 403),
    ]
    for body, status in cases:
        reply = await as_alice.call("POST", "images", json=body)
        assert reply.status == status, (body, reply.body)


async def test_errors_are_glances_plain_text(as_alice: Images) -> None:
    reply = await as_alice.call("POST", "images", json={"disk_format": "floppy"})
    assert reply.status == 400
    assert reply.body.startswith("400 Bad Request\n\n")
    missing = await as_alice.call("GET", "images/null")
    assert missing.status == 404
    assert missing.body.startswith("404 Not Found\n\nNo image found with ID null")


async def test_an_unauthenticated_caller_gets_401(client: Client) -> None:
    reply = await Images(client, None).call("GET", "images")
    assert reply.status == 401


async def test_patch_applies_add_replace_remove(as_alice: Images) -> None:
    image = await as_alice.create(name="old", disk_format="raw", container_format="bare")
    reply = await as_alice.patch(
        image["id"],
        {"op": "replace", "path": "/name", "value": "new"},
        {"op": "add", "path": "/os_distro", "value": "cirros"},
        {"op": "add", "path": "/hw_disk_bus", "value": "virtio"},
        {"op": "replace", "path": "/min_disk", "value": 2},
        {"op": "replace", "path": "/tags", "value": ["x", "y"]},
        {"op": "add", "path": "/protected", "value": True},
    )
    assert reply.status == 200, reply.body
    assert reply.body["name"] == "new"
    assert reply.body["os_distro"] == "cirros"
    assert reply.body["min_disk"] == 2 and reply.body["protected"] is True
    assert sorted(reply.body["tags"]) == ["x", "y"]
    reply = await as_alice.patch(
        image["id"],
        {"op": "replace", "path": "/os_distro", "value": "ubuntu"},
        {"op": "remove", "path": "/hw_disk_bus"},
    )
    assert reply.status == 200, reply.body
    assert reply.body["os_distro"] == "ubuntu" and "hw_disk_bus" not in reply.body
    assert await as_alice.show(image["id"]) == reply.body


async def test_patch_in_draft_4_form(as_alice: Images) -> None:
    """Tempest still sends the v2.0 media type's `{"<op>": "<path>", "value": ..}`."""
    image_id = (await as_alice.create(name="old"))["id"]
    changes = [{"replace": "/name", "value": "new"}, {"add": "/os_distro", "value": "cirros"}]
    reply = await as_alice.call(
        "PATCH", f"images/{image_id}", data=msgspec.json.encode(changes),
        headers={"Content-Type": "application/openstack-images-v2.0-json-patch"},
    )  # fmt: skip
    assert reply.status == 200, reply.body
    assert (reply.body["name"], reply.body["os_distro"]) == ("new", "cirros")


async def test_patch_errors(as_alice: Images) -> None:
    image_id = (await as_alice.create(name="n"))["id"]
    cases: list[tuple[dict[str, Any], int]] = [
        ({"op": "replace", "path": "/nothing", "value": "x"}, 409),
        ({"op": "remove", "path": "/nothing"}, 409),
        ({"op": "remove", "path": "/name"}, 403),
        ({"op": "replace", "path": "/status", "value": "active"}, 403),
        ({"op": "replace", "path": "/size", "value": 5}, 403),
        ({"op": "replace", "path": "/visibility", "value": "public"}, 403),
        ({"op": "replace", "path": "/visibility", "value": "secret"}, 400),
        ({"op": "replace", "path": "/disk_format", "value": "floppy"}, 400),
        ({"op": "move", "path": "/name", "value": "x"}, 400),
        ({"op": "replace", "path": "/a/b", "value": "x"}, 400),
        ({"op": "replace", "path": "/name"}, 400),
        ({"op": "add", "path": "/custom", "value": 1}, 400),
    ]
    for op, status in cases:
        reply = await as_alice.patch(image_id, op)
        assert reply.status == status, (op, reply.body)
    wrong_type = await as_alice.call(
        "PATCH", f"images/{image_id}", json=[{"op": "replace", "path": "/name", "value": "x"}]
    )
    assert wrong_type.status == 415
    assert (await as_alice.show(image_id))["name"] == "n"


async def test_formats_change_only_while_queued(as_alice: Images) -> None:
    image_id = (await as_alice.create(disk_format="raw", container_format="bare"))["id"]
    assert (await as_alice.upload(image_id, b"data")).status == 204
    reply = await as_alice.patch(image_id, {"op": "replace", "path": "/disk_format",
                                            "value": "qcow2"})  # fmt: skip
    assert reply.status == 403


async def test_tags_are_added_and_removed(as_alice: Images) -> None:
    image_id = (await as_alice.create())["id"]
    for _ in range(2):  # adding twice is harmless
        assert (await as_alice.call("PUT", f"images/{image_id}/tags/blue")).status == 204
    assert (await as_alice.call("PUT", f"images/{image_id}/tags/red")).status == 204
    assert sorted((await as_alice.show(image_id))["tags"]) == ["blue", "red"]
    assert (await as_alice.call("DELETE", f"images/{image_id}/tags/blue")).status == 204
    assert (await as_alice.show(image_id))["tags"] == ["red"]
    assert (await as_alice.call("DELETE", f"images/{image_id}/tags/blue")).status == 404
    missing = str(uuid.uuid4())
    assert (await as_alice.call("PUT", f"images/{missing}/tags/x")).status == 404


async def test_delete_and_protection(as_alice: Images) -> None:
    image_id = (await as_alice.create(protected=True))["id"]
    assert (await as_alice.call("DELETE", f"images/{image_id}")).status == 403
    unprotect = await as_alice.patch(image_id, {"op": "replace", "path": "/protected",
                                                "value": False})  # fmt: skip
    assert unprotect.status == 200
    assert (await as_alice.call("DELETE", f"images/{image_id}")).status == 204
    assert (await as_alice.call("GET", f"images/{image_id}")).status == 404
    assert (await as_alice.call("DELETE", f"images/{image_id}")).status == 404
    assert image_id not in [i["id"] for i in await as_alice.list()]


async def test_deactivated_images_cannot_be_downloaded_by_users(
    as_alice: Images, glance_admin: Images
) -> None:
    image_id = (await as_alice.create(disk_format="raw", container_format="bare"))["id"]
    queued = await as_alice.call("POST", f"images/{image_id}/actions/deactivate")
    assert queued.status == 403
    await as_alice.upload(image_id, b"bytes")
    assert (await as_alice.call("POST", f"images/{image_id}/actions/deactivate")).status == 204
    assert (await as_alice.show(image_id))["status"] == "deactivated"
    assert (await as_alice.call("GET", f"images/{image_id}/file")).status == 403
    assert (await glance_admin.call("GET", f"images/{image_id}/file")).raw == b"bytes"
    assert (await as_alice.call("POST", f"images/{image_id}/actions/reactivate")).status == 204
    assert (await as_alice.show(image_id))["status"] == "active"
    assert (await as_alice.call("GET", f"images/{image_id}/file")).raw == b"bytes"


async def test_schemas(as_alice: Images) -> None:
    for name in ("image", "images", "member", "members"):
        reply = await as_alice.call("GET", f"schemas/{name}")
        assert reply.status == 200
        assert reply.body["name"] == name
    image = (await as_alice.call("GET", "schemas/image")).body
    assert GLANCE_FIELDS <= set(image["properties"])
    assert image["additionalProperties"] == {"type": "string"}
    assert (await as_alice.call("GET", "schemas/nothing")).status == 404
