"""Per-project image quotas: image count and total bytes, refused with Glance's 413, exact
under concurrent creates and uploads, and nothing stored for a refused upload."""

import asyncio
import io
from collections.abc import AsyncIterator

import pytest

from service.image import quota
from service.storage import ObjectBackend

from .conftest import Api, Images, Person
from .test_data import keys

KiB = 1024


@pytest.fixture
def limits(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Small limits for the test: 3 images, 1 MiB."""
    monkeypatch.setitem(quota.DEFAULTS, "image_count_total", 3)
    monkeypatch.setitem(quota.DEFAULTS, "image_size_total", 1)
    return quota.DEFAULTS


async def test_the_image_count_is_limited_per_project(
    limits: dict[str, int], as_alice: Images, as_bob: Images
) -> None:
    made = [await as_alice.create(name=f"i{n}") for n in range(3)]
    refused = await as_alice.call("POST", "images", json={"name": "one-too-many"})
    assert refused.status == 413, refused.body
    assert "image_count_total is over limit of 3 due to current usage 3 and delta 1" in str(
        refused.body
    )
    assert len(await as_alice.list()) == 3
    await as_bob.create(name="another-project")  # its own quota
    assert (await as_alice.call("DELETE", f"images/{made[0]['id']}")).status == 204
    await as_alice.create(name="in-the-freed-place")


async def test_the_bytes_are_limited_per_project_and_a_refused_upload_keeps_nothing(
    limits: dict[str, int], as_alice: Images, objects: ObjectBackend
) -> None:
    first, second, third = [(await as_alice.create())["id"] for _ in range(3)]
    assert (await as_alice.upload(first, b"x" * 600 * KiB)).status == 204
    refused = await as_alice.upload(second, b"y" * 600 * KiB)  # its Content-Length: at once
    assert refused.status == 413, refused.body
    assert "image_size_total is over limit of 1" in str(refused.body)

    async def chunks() -> AsyncIterator[bytes]:  # chunked: refused once past the limit
        for _ in range(6):
            yield b"z" * 100 * KiB

    streamed = await as_alice.upload(third, chunks())
    assert streamed.status == 413, streamed.body
    for image_id in (second, third):
        shown = await as_alice.show(image_id)
        assert (shown["status"], shown["size"]) == ("queued", None)
    assert await keys(objects) == [f"images/{first}"]
    assert (await as_alice.upload(second, b"y" * 400 * KiB)).status == 204  # what is left


async def test_concurrent_creates_take_exactly_the_images_left(
    limits: dict[str, int], as_alice: Images
) -> None:
    replies = await asyncio.gather(
        *(as_alice.call("POST", "images", json={"name": f"race-{n}"}) for n in range(8))
    )
    assert sorted(r.status for r in replies) == [201] * 3 + [413] * 5
    assert len(await as_alice.list()) == 3


async def test_concurrent_uploads_cannot_overshoot_the_bytes(
    limits: dict[str, int], as_alice: Images, objects: ObjectBackend
) -> None:
    ids = [(await as_alice.create())["id"] for _ in range(3)]
    # Two fit, three do not. All may start before any ends, so only the claim at
    # activation can tell them apart.
    replies = await asyncio.gather(*(as_alice.upload(i, b"d" * 400 * KiB) for i in ids))
    statuses = sorted(r.status for r in replies)
    assert statuses == [204, 204, 413], [r.body for r in replies]
    active = [i for i in ids if (await as_alice.show(i))["status"] == "active"]
    assert len(active) == 2
    assert sorted(await keys(objects)) == sorted(f"images/{i}" for i in active)


async def set_limits(as_admin: Api, kind: str, values: dict[str, int], **owner: str) -> list[str]:
    """Registered limits (kind "registered_limits") of the image service, or a project's
    own limits ("limits", owner project_id=...), through Keystone's API; their ids."""
    status, body = await as_admin.call("GET", "services?type=image")
    glance = body["services"][0]["id"]
    field = "default_limit" if kind == "registered_limits" else "resource_limit"
    new = [
        {"service_id": glance, "resource_name": name, field: value, **owner}
        for name, value in values.items()
    ]
    status, body = await as_admin.call("POST", kind, {kind: new})
    assert status == 201, body
    return [made["id"] for made in body[kind]]


async def test_an_admin_gives_a_project_limits_of_its_own(
    as_admin: Api, alice: Person, as_alice: Images, as_bob: Images
) -> None:
    await set_limits(as_admin, "registered_limits", {"image_count_total": 3, "image_size_total": 1})
    count_id, _ = await set_limits(
        as_admin,
        "limits",
        {"image_count_total": 1, "image_size_total": 2},
        project_id=alice.project_id,
    )
    first = (await as_alice.create(name="only-one"))["id"]
    refused = await as_alice.call("POST", "images", json={"name": "over-her-limit"})
    assert refused.status == 413, refused.body
    assert "image_count_total is over limit of 1 due to current usage 1" in str(refused.body)
    for n in range(3):  # bob keeps the registered default
        await as_bob.create(name=f"bob-{n}")
    assert (await as_bob.call("POST", "images", json={"name": "bob-3"})).status == 413
    # 1.5 MiB: over the default of 1 MiB, within her own 2 MiB
    assert (await as_alice.upload(first, io.BytesIO(b"x" * 1536 * KiB))).status == 204

    raised = {"limit": {"resource_limit": 4}}
    assert (await as_admin.call("PATCH", f"limits/{count_id}", raised))[0] == 200
    replies = await asyncio.gather(
        *(as_alice.call("POST", "images", json={"name": f"race-{n}"}) for n in range(6))
    )
    assert sorted(r.status for r in replies) == [201] * 3 + [413] * 3
    assert len(await as_alice.list()) == 4


async def test_a_project_limit_on_uploads_at_once(
    as_admin: Api, alice: Person, as_alice: Images
) -> None:
    await set_limits(as_admin, "registered_limits", {"image_count_uploading": -1})
    await set_limits(as_admin, "limits", {"image_count_uploading": 1}, project_id=alice.project_id)
    first, second = [(await as_alice.create())["id"] for _ in range(2)]
    release = asyncio.Event()

    async def stalled() -> AsyncIterator[bytes]:
        yield b"a" * 100 * KiB
        await release.wait()
        yield b"b" * 100 * KiB

    uploading = asyncio.create_task(as_alice.upload(first, stalled()))
    while (await as_alice.show(first))["status"] != "saving":
        await asyncio.sleep(0.05)
    refused = await as_alice.upload(second, b"c" * KiB)
    assert refused.status == 413, refused.body
    assert "image_count_uploading is over limit of 1 due to current usage 1" in str(refused.body)
    assert (await as_alice.show(second))["status"] == "queued"
    release.set()
    assert (await uploading).status == 204
    assert (await as_alice.upload(second, b"c" * KiB)).status == 204


OCTET = {"Content-Type": "application/octet-stream"}
GLANCE_DIRECT = {"method": {"name": "glance-direct"}}


async def test_staged_bytes_are_limited_until_imported(
    as_admin: Api, alice: Person, as_alice: Images, as_bob: Images, objects: ObjectBackend
) -> None:
    await set_limits(as_admin, "registered_limits", {"image_stage_total": 10})
    await set_limits(as_admin, "limits", {"image_stage_total": 1}, project_id=alice.project_id)
    first, second, third = [(await as_alice.create())["id"] for _ in range(3)]

    async def stage(image_id: str, data: object) -> tuple[int, str]:
        reply = await as_alice.call("PUT", f"images/{image_id}/stage", data=data, headers=OCTET)
        return reply.status, str(reply.body)

    assert await stage(first, b"a" * 600 * KiB) == (204, "")
    status, body = await stage(second, b"b" * 600 * KiB)  # its Content-Length: at once
    assert status == 413, body
    assert "image_stage_total is over limit of 1 due to current usage 1 and delta 1" in body

    async def chunks() -> AsyncIterator[bytes]:  # chunked: refused once past the space left
        for _ in range(6):
            yield b"c" * 100 * KiB

    status, body = await stage(third, chunks())
    assert status == 413, body
    assert "image_stage_total is over limit of 1" in body
    for image_id in (second, third):
        shown = await as_alice.show(image_id)
        assert (shown["status"], shown["size"]) == ("queued", None)
    assert await keys(objects) == [f"images/{first}"]
    bob_image = (await as_bob.create())["id"]  # bob stages within the registered 10 MiB
    bob_staged = await as_bob.call(
        "PUT", f"images/{bob_image}/stage", data=io.BytesIO(b"d" * 2048 * KiB), headers=OCTET
    )
    assert bob_staged.status == 204, bob_staged.body

    # An import moves the bytes out of the staging space (they count as stored bytes).
    imported = await as_alice.call("POST", f"images/{first}/import", json=GLANCE_DIRECT)
    assert imported.status == 202, imported.body
    assert await stage(second, b"b" * 600 * KiB) == (204, "")
    # So does a staged image's deletion.
    assert (await as_alice.call("DELETE", f"images/{second}")).status == 204
    assert await stage(third, b"c" * 600 * KiB) == (204, "")


async def test_concurrent_stagings_cannot_overshoot_the_staging_space(
    limits: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
    as_alice: Images,
    objects: ObjectBackend,
) -> None:
    monkeypatch.setitem(quota.DEFAULTS, "image_size_total", 100)
    monkeypatch.setitem(quota.DEFAULTS, "image_stage_total", 1)
    ids = [(await as_alice.create())["id"] for _ in range(3)]
    # Two fit, three do not; all start before any ends, so only the claim at the end of
    # staging can tell them apart.
    replies = await asyncio.gather(
        *(
            as_alice.call("PUT", f"images/{i}/stage", data=b"s" * 400 * KiB, headers=OCTET)
            for i in ids
        )
    )
    assert sorted(r.status for r in replies) == [204, 204, 413], [r.body for r in replies]
    staged = [i for i in ids if (await as_alice.show(i))["status"] == "uploading"]
    assert len(staged) == 2
    assert sorted(await keys(objects)) == sorted(f"images/{i}" for i in staged)
