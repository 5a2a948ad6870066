"""Nova's image proxy (up to 2.35): the image service's images listed with Nova's filters
and their metadata read and written under the image service's rules; Tempest's schemas."""

from typing import Any

from tests.integration.compute.conftest import Nova

SERVER = "3f1b2c4d-0000-4000-8000-000000000001"


async def glance_image(nova: Nova, name: str, **properties: str) -> str:
    body: dict[str, Any] = {"name": name, "disk_format": "raw", "container_format": "bare"}
    reply = await nova.call("POST", "images", body | properties, prefix="/image/v2")
    assert reply.status == 201, reply.body
    return str(reply.body["id"])


async def listed(nova: Nova, query: str = "", detail: bool = False) -> list[str]:
    path = "images/detail" if detail else "images"
    reply = await nova.get(f"{path}{query}")
    reply.check("images.list_images_details" if detail else "images.list_images")
    return sorted(i["name"] for i in reply.body["images"])


async def test_images_are_listed_with_novas_filters(as_alice: Nova, as_bob: Nova) -> None:
    await glance_image(as_alice, "snap", image_type="snapshot", instance_uuid=SERVER)
    await glance_image(as_alice, "plain")
    assert await listed(as_alice) == ["plain", "snap"]
    assert await listed(as_alice, detail=True) == ["plain", "snap"]
    for query, names in (
        ("?name=snap", ["snap"]),
        (f"?server=http://kumo/compute/v2.1/servers/{SERVER}", ["snap"]),
        ("?type=snapshot", ["snap"]),
        ("?status=SAVING", ["plain", "snap"]),  # queued, no data yet
        ("?status=ACTIVE", []),
        ("?changes-since=2999-01-01T00:00:00Z", []),
    ):
        assert await listed(as_alice, query, detail=True) == names, query
    assert len(await listed(as_alice, "?limit=1")) == 1
    assert await listed(as_bob) == []  # alice's are private
    assert (await as_alice.at("2.36").get("images")).status == 404


async def test_image_metadata(as_alice: Nova, as_bob: Nova) -> None:
    image_id = await glance_image(as_alice, "meta", colour="blue")
    path = f"images/{image_id}/metadata"
    shown = (await as_alice.get(path)).check("images.image_metadata")
    assert shown == {"metadata": {"colour": "blue"}}
    added = (await as_alice.post(path, {"metadata": {"size": "big"}})).check(
        "images.image_metadata"
    )
    assert added["metadata"] == {"colour": "blue", "size": "big"}
    item = (await as_alice.put(f"{path}/size", {"meta": {"size": "small"}})).check(
        "images.image_meta_item"
    )
    assert item == {"meta": {"size": "small"}}
    assert (await as_alice.get(f"{path}/size")).body == {"meta": {"size": "small"}}
    assert (await as_alice.delete(f"{path}/size")).status == 204
    assert (await as_alice.get(f"{path}/size")).status == 404
    replaced = (await as_alice.put(path, {"metadata": {"only": "this"}})).body
    assert replaced == {"metadata": {"only": "this"}}
    assert (await as_alice.get(f"images/{image_id}")).body["image"]["metadata"] == {"only": "this"}
    for bad_path, body in ((f"{path}/a", {"meta": {"b": "c"}}), (path, {"metadata": {"": "x"}})):
        assert (await as_alice.put(bad_path, body)).status == 400, body
    assert (await as_alice.delete(f"{path}/missing")).status == 404
    assert (await as_bob.get(path)).status == 404
    assert (await as_bob.post(path, {"metadata": {"mine": "now"}})).status == 404
