"""The interoperable import API: `glance-direct` staging then import, its refusals, and the
quota and cleanup rules it shares with a plain upload."""

import hashlib

import pytest

from service.image import quota
from service.storage import ObjectBackend

from .conftest import Images
from .test_data import keys

OCTET = {"Content-Type": "application/octet-stream"}
GLANCE_DIRECT = {"method": {"name": "glance-direct"}}


async def test_the_import_methods_are_listed(as_alice: Images) -> None:
    reply = await as_alice.call("GET", "info/import")
    assert reply.status == 200
    assert reply.body["import-methods"]["value"] == ["glance-direct", "web-download", "copy-image"]
    created = await as_alice.call("POST", "images", json={})
    methods = created.headers["OpenStack-image-import-methods"]
    assert methods == "glance-direct,web-download,copy-image"
    assert created.headers["OpenStack-image-store-ids"] == "default"


async def test_stage_then_import_activates_the_image(
    as_alice: Images, objects: ObjectBackend
) -> None:
    data = b"staged image bytes" * 1000
    image_id = (await as_alice.create(disk_format="raw", container_format="bare"))["id"]
    staged = await as_alice.call("PUT", f"images/{image_id}/stage", data=data, headers=OCTET)
    assert staged.status == 204, staged.body
    shown = await as_alice.show(image_id)
    assert (shown["status"], shown["size"]) == ("uploading", None)
    assert (await as_alice.call("GET", f"images/{image_id}/file")).status == 204
    again = await as_alice.call("PUT", f"images/{image_id}/stage", data=b"x", headers=OCTET)
    assert again.status == 409

    imported = await as_alice.call("POST", f"images/{image_id}/import", json=GLANCE_DIRECT)
    assert imported.status == 202, imported.body
    shown = await as_alice.show(image_id)
    assert shown["status"] == "active"
    assert shown["size"] == len(data)
    assert shown["checksum"] == hashlib.md5(data).hexdigest()
    assert shown["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert (await as_alice.call("GET", f"images/{image_id}/file")).raw == data
    assert await keys(objects) == [f"images/{image_id}"]
    twice = await as_alice.call("POST", f"images/{image_id}/import", json=GLANCE_DIRECT)
    assert twice.status == 409


async def test_an_import_needs_staged_data_and_a_known_method(as_alice: Images) -> None:
    image_id = (await as_alice.create())["id"]
    early = await as_alice.call("POST", f"images/{image_id}/import", json=GLANCE_DIRECT)
    assert early.status == 409
    assert "staged" in str(early.body)
    await as_alice.call("PUT", f"images/{image_id}/stage", data=b"x", headers=OCTET)
    unknown = {"method": {"name": "glance-download"}}
    refused = await as_alice.call("POST", f"images/{image_id}/import", json=unknown)
    assert refused.status == 400
    assert (await as_alice.show(image_id))["status"] == "uploading"


async def test_another_project_cannot_stage_or_import(as_alice: Images, as_bob: Images) -> None:
    image_id = (await as_alice.create(visibility="private"))["id"]
    assert (await as_bob.call("PUT", f"images/{image_id}/stage", data=b"x",
                              headers=OCTET)).status == 404  # fmt: skip
    await as_alice.call("PUT", f"images/{image_id}/stage", data=b"x", headers=OCTET)
    bob_import = await as_bob.call("POST", f"images/{image_id}/import", json=GLANCE_DIRECT)
    assert bob_import.status == 404
    assert (await as_alice.show(image_id))["status"] == "uploading"


async def test_an_import_over_quota_keeps_nothing(
    monkeypatch: pytest.MonkeyPatch, as_alice: Images, objects: ObjectBackend
) -> None:
    monkeypatch.setitem(quota.DEFAULTS, "image_size_total", 1)
    first, second = [(await as_alice.create())["id"] for _ in range(2)]
    for image_id in (first, second):  # each fits alone, both do not
        staged = await as_alice.call("PUT", f"images/{image_id}/stage", data=b"s" * 600 * 1024,
                                     headers=OCTET)  # fmt: skip
        assert staged.status == 204
    ok = await as_alice.call("POST", f"images/{first}/import", json=GLANCE_DIRECT)
    assert ok.status == 202
    over = await as_alice.call("POST", f"images/{second}/import", json=GLANCE_DIRECT)
    assert over.status == 413, over.body
    assert (await as_alice.show(second))["status"] == "queued"
    assert await keys(objects) == [f"images/{first}"]


async def test_deleting_a_staged_image_deletes_its_bytes(
    as_alice: Images, objects: ObjectBackend
) -> None:
    image_id = (await as_alice.create())["id"]
    await as_alice.call("PUT", f"images/{image_id}/stage", data=b"x" * 10, headers=OCTET)
    assert await keys(objects) == [f"images/{image_id}"]
    assert (await as_alice.call("DELETE", f"images/{image_id}")).status == 204
    assert await keys(objects) == []
