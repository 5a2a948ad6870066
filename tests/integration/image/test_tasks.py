"""Glance's tasks API: an `import` task creates its image and web-downloads its bytes
from a server on loopback, ending `success` or `failure` as its import ends; only an
admin may use it; bad input and a URL the import may not fetch are 400s."""

import asyncio
from typing import Any

import pytest

from events.postgres import PostgresEventStore
from projections.runner import rebuild
from service.image import quota
from service.image.projection import ImageProjection

from .conftest import Images
from .test_web_download import DATA, settings, source

__all__ = ["settings", "source"]


def import_task(uri: str, **properties: Any) -> dict[str, Any]:
    image = {"name": "from-task", "disk_format": "raw", "container_format": "bare"}
    return {
        "type": "import",
        "input": {
            "import_from": uri,
            "import_from_format": "raw",
            "image_properties": image | properties,
        },
    }


async def ended(images: Images, task_id: str) -> dict[str, Any]:
    """The task once it has ended (within 20 s)."""
    for _ in range(200):
        task: dict[str, Any] = (await images.call("GET", f"tasks/{task_id}")).body
        if task["status"] in ("success", "failure"):
            return task
        await asyncio.sleep(0.1)
    raise AssertionError(f"task {task_id} has not ended")


async def test_an_import_task_creates_and_activates_its_image(
    glance_admin: Images, source: str
) -> None:
    reply = await glance_admin.call("POST", "tasks", json=import_task(f"{source}/disk.img"))
    assert reply.status == 201, reply.body
    assert reply.body["status"] in ("pending", "processing")
    assert reply.body["result"] is None and reply.body["type"] == "import"
    task = await ended(glance_admin, reply.body["id"])
    assert task["status"] == "success", task
    assert task["input"]["import_from"] == f"{source}/disk.img"
    assert task["expires_at"] and task["self"] == f"/v2/tasks/{task['id']}"
    image = await glance_admin.show(task["result"]["image_id"])
    assert (image["name"], image["status"], image["size"]) == ("from-task", "active", len(DATA))
    shown = (await glance_admin.call("GET", f"images/{image['id']}/tasks")).body["tasks"]
    assert [(t["id"], t["type"], t["status"]) for t in shown] == [(task["id"], "import", "success")]


async def test_a_failed_fetch_fails_the_task(glance_admin: Images, source: str) -> None:
    reply = await glance_admin.call("POST", "tasks", json=import_task(f"{source}/missing"))
    task = await ended(glance_admin, reply.body["id"])
    assert task["status"] == "failure" and "404" in task["message"], task
    assert task["result"] is None
    assert (await glance_admin.show(task["image_id"]))["status"] == "queued"


async def test_a_task_whose_image_cannot_be_made_fails_at_once(
    monkeypatch: pytest.MonkeyPatch, glance_admin: Images, source: str
) -> None:
    monkeypatch.setitem(quota.DEFAULTS, "image_count_total", 0)
    reply = await glance_admin.call("POST", "tasks", json=import_task(f"{source}/disk.img"))
    assert reply.status == 201, reply.body
    assert reply.body["status"] == "failure"
    assert "image_count_total is over limit" in reply.body["message"], reply.body
    assert (await glance_admin.call("GET", f"images/{reply.body['image_id']}")).status == 404


async def test_bad_tasks_are_refused_and_leave_nothing(
    glance_admin: Images, as_alice: Images, source: str
) -> None:
    good = import_task(f"{source}/disk.img")
    assert (await as_alice.call("POST", "tasks", json=good)).status == 403
    assert (await as_alice.call("GET", "tasks")).status == 403
    for bad in (
        good | {"type": "export"},
        {"type": "import", "input": {"import_from": f"{source}/disk.img"}},
        import_task("ftp://example.com/disk.img"),
        import_task("http://no-such-host.invalid/disk.img"),
        import_task(f"{source}/disk.img", disk_format="floppy"),
    ):
        reply = await glance_admin.call("POST", "tasks", json=bad)
        assert reply.status == 400, (bad, reply.body)
    assert (await glance_admin.call("GET", "tasks")).body["tasks"] == []
    assert (await glance_admin.call("GET", "tasks/no-such-task")).status == 404


async def test_tasks_are_listed_newest_first_a_page_at_a_time(
    glance_admin: Images, source: str
) -> None:
    ids = []
    for _ in range(3):
        reply = await glance_admin.call("POST", "tasks", json=import_task(f"{source}/disk.img"))
        ids.append(reply.body["id"])
        await ended(glance_admin, reply.body["id"])
    first = (await glance_admin.call("GET", "tasks?limit=2")).body
    assert [t["id"] for t in first["tasks"]] == ids[:0:-1]
    assert "input" not in first["tasks"][0] and first["schema"] == "/v2/schemas/tasks"
    rest = (await glance_admin.call("GET", first["next"].removeprefix("/v2/"))).body
    assert [t["id"] for t in rest["tasks"]] == ids[:1] and "next" not in rest
    oldest = (await glance_admin.call("GET", "tasks?sort_dir=asc&limit=1")).body
    assert [t["id"] for t in oldest["tasks"]] == ids[:1]
    assert (await glance_admin.call("GET", "tasks?status=failure")).body["tasks"] == []
    assert (await glance_admin.call("GET", "tasks?sort_key=owner")).status == 400
    assert (await glance_admin.call("GET", "tasks?marker=nope")).status == 400
    schema = (await glance_admin.call("GET", "schemas/task")).body
    assert schema["properties"]["status"]["enum"] == ["pending", "processing", "success", "failure"]


async def test_the_task_model_rebuilds_to_the_same_rows(
    glance_admin: Images, source: str, store: PostgresEventStore
) -> None:
    for path in ("disk.img", "missing"):
        reply = await glance_admin.call("POST", "tasks", json=import_task(f"{source}/{path}"))
        await ended(glance_admin, reply.body["id"])
    query = "SELECT * FROM rm_image_tasks ORDER BY id"
    live = [tuple(r) for r in await store.pool.fetch(query)]
    assert len(live) == 2
    assert await rebuild(store, ImageProjection(), inline=True) > 2
    assert [tuple(r) for r in await store.pool.fetch(query)] == live
