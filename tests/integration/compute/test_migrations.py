"""/os-migrations: each resize is a migration whose status follows it (migrating,
finished, confirmed or reverted), in Nova's shapes at each microversion, for admins
only; and a server's in-progress live migrations, which Kumo never has."""

from tests.integration.compute.conftest import Nova
from tests.integration.compute.test_admin_actions import act
from tests.integration.compute.test_servers import (
    admin_nova,
    cloud,
    create,
    image_id,
    member,
    wait_for,
)

__all__ = ["admin_nova", "cloud", "image_id", "member"]

BASE_FIELDS = {
    "id",
    "status",
    "instance_uuid",
    "source_node",
    "source_compute",
    "dest_node",
    "dest_compute",
    "dest_host",
    "old_instance_type_id",
    "new_instance_type_id",
    "created_at",
    "updated_at",
}


async def migrations(nova: Nova, query: str = "") -> list[dict[str, object]]:
    reply = await nova.get(f"os-migrations{query}")
    assert reply.status == 200, reply.body
    found: list[dict[str, object]] = reply.body["migrations"]
    return found


async def test_resizes_are_migrations_whose_status_follows_them(
    member: Nova, admin_nova: Nova, image_id: str
) -> None:
    server_id = await create(member, image_id)
    await wait_for(member, server_id, "ACTIVE")
    assert await migrations(admin_nova, f"?instance_uuid={server_id}") == []
    assert await act(member, server_id, "resize", {"flavorRef": "2"}) == 202
    await wait_for(member, server_id, "VERIFY_RESIZE")
    (first,) = await migrations(admin_nova, f"?instance_uuid={server_id}")
    assert set(first) == BASE_FIELDS
    assert first["status"] == "finished" and isinstance(first["id"], int)
    host = (await admin_nova.get(f"servers/{server_id}")).body["server"]["OS-EXT-SRV-ATTR:host"]
    assert first["source_compute"] == first["dest_compute"] == host
    assert await act(member, server_id, "confirmResize") == 204
    await wait_for(member, server_id, "ACTIVE")
    assert await act(member, server_id, "resize", {"flavorRef": "1"}) == 202
    await wait_for(member, server_id, "VERIFY_RESIZE")
    assert await act(member, server_id, "revertResize") == 202
    await wait_for(member, server_id, "ACTIVE")
    newest, oldest = await migrations(admin_nova, f"?instance_uuid={server_id}")
    assert (newest["status"], oldest["status"]) == ("reverted", "confirmed")
    assert [m["id"] for m in await migrations(admin_nova, "?status=confirmed")] == [oldest["id"]]
    assert (
        await migrations(admin_nova, f"?instance_uuid={server_id}&migration_type=live-migration")
        == []
    )
    assert await migrations(admin_nova, f"?host=elsewhere&instance_uuid={server_id}") == []

    at_2_23 = await migrations(admin_nova.at("2.23"), f"?instance_uuid={server_id}")
    assert {m["migration_type"] for m in at_2_23} == {"resize"}
    at_2_80 = admin_nova.at("2.80")
    page = (await at_2_80.get(f"os-migrations?instance_uuid={server_id}&limit=1")).body
    (shown,) = page["migrations"]
    assert set(shown) == BASE_FIELDS | {"migration_type", "uuid", "user_id", "project_id"}
    assert shown["id"] == newest["id"] and "migrations_links" in page
    rest = await migrations(at_2_80, f"?instance_uuid={server_id}&marker={shown['uuid']}")
    assert [m["id"] for m in rest] == [oldest["id"]]
    assert (await at_2_80.get("os-migrations?marker=nope")).status == 400
    assert (await at_2_80.get("os-migrations?colour=red")).status == 400
    project = shown["project_id"]
    assert len(await migrations(at_2_80, f"?project_id={project}")) == 2
    assert await migrations(at_2_80, "?project_id=another") == []


async def test_only_admins_list_migrations(member: Nova, admin_nova: Nova, image_id: str) -> None:
    assert (await member.get("os-migrations")).status == 403
    server_id = await create(member, image_id)
    assert (await member.at("2.23").get(f"servers/{server_id}/migrations")).status == 403
    live = await admin_nova.at("2.23").get(f"servers/{server_id}/migrations")
    assert (live.status, live.body) == (200, {"migrations": []})
    assert (await admin_nova.get(f"servers/{server_id}/migrations")).status == 404
    nowhere = "00000000-0000-0000-0000-000000000000"
    assert (await admin_nova.at("2.23").get(f"servers/{nowhere}/migrations")).status == 404
