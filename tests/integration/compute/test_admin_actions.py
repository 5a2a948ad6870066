"""Server actions beyond the daily ones, end to end on libvirt's test driver: an admin's
os-resetState and injectNetworkInfo, rebuilds that keep a stopped server stopped, the disk
config, backups with rotation, restore, external events, diagnostics and the password."""

import asyncio
from typing import Any

from tests.integration.compute.conftest import Nova
from tests.integration.compute.test_servers import (
    TIMEOUT,
    admin_nova,
    cloud,
    create,
    image_id,
    member,
    wait_for,
)

__all__ = ["admin_nova", "cloud", "image_id", "member"]


async def idle(nova: Nova, server_id: str) -> dict[str, Any]:
    """The server once no task is in progress (its host finished the last action)."""
    async with asyncio.timeout(TIMEOUT):
        while True:
            server: dict[str, Any] = (await nova.get(f"servers/{server_id}")).body["server"]
            if server["OS-EXT-STS:task_state"] is None:
                return server
            await asyncio.sleep(0.05)


async def act(nova: Nova, server_id: str, action: str, body: Any = None) -> int:
    return (await nova.post(f"servers/{server_id}/action", {action: body})).status


async def test_an_admin_resets_a_servers_state(
    member: Nova, admin_nova: Nova, image_id: str
) -> None:
    server_id = await create(member, image_id)
    await wait_for(member, server_id, "ACTIVE")
    assert await act(member, server_id, "os-resetState", {"state": "error"}) == 403
    assert await act(admin_nova, server_id, "os-resetState", {"state": "broken"}) == 400
    assert await act(admin_nova, server_id, "os-resetState", {"state": "error"}) == 202
    shown = (await member.get(f"servers/{server_id}")).body["server"]
    assert (shown["status"], shown["OS-EXT-STS:task_state"]) == ("ERROR", None)
    errored = (await member.get("servers?status=error")).body["servers"]
    assert [s["id"] for s in errored] == [server_id]
    # a server in ERROR may be rebuilt, which makes it ACTIVE again
    rebuilt = await member.post(f"servers/{server_id}/action", {"rebuild": {"imageRef": image_id}})
    assert rebuilt.status == 202
    await wait_for(member, server_id, "ACTIVE")
    assert await act(admin_nova, server_id, "os-resetState", {"state": "active"}) == 202
    assert (await member.get(f"servers/{server_id}")).body["server"]["status"] == "ACTIVE"


async def test_inject_network_info_is_an_admins_instance_action(
    member: Nova, admin_nova: Nova, image_id: str
) -> None:
    server_id = await create(member, image_id)
    await wait_for(member, server_id, "ACTIVE")
    assert await act(member, server_id, "injectNetworkInfo") == 403
    assert await act(admin_nova, server_id, "injectNetworkInfo") == 202
    await asyncio.sleep(0.5)
    latest = (await member.get(f"servers/{server_id}/os-instance-actions")).body["instanceActions"][
        0
    ]
    assert latest["action"] == "injectNetworkInfo"
    shown = await member.at("2.51").get(
        f"servers/{server_id}/os-instance-actions/{latest['request_id']}"
    )
    assert shown.body["instanceAction"]["events"][0]["result"] == "Success"


async def test_a_stopped_server_stays_stopped_when_rebuilt(member: Nova, image_id: str) -> None:
    server_id = await create(member, image_id)
    await wait_for(member, server_id, "ACTIVE")
    assert await act(member, server_id, "os-stop") == 202
    await wait_for(member, server_id, "SHUTOFF")
    assert await act(member, server_id, "rebuild", {"imageRef": image_id}) == 202
    during = (await member.get(f"servers/{server_id}")).body["server"]
    assert during["status"] in ("REBUILD", "SHUTOFF")
    done = await wait_for(member, server_id, "SHUTOFF")
    assert done["OS-EXT-STS:task_state"] is None and done["OS-EXT-STS:power_state"] == 4


async def test_the_disk_config_is_kept_and_changed(member: Nova, image_id: str) -> None:
    new = {"name": "dc", "imageRef": image_id, "flavorRef": "1", "OS-DCF:diskConfig": "AUTO"}
    created = (await member.post("servers", {"server": new})).body["server"]
    server_id = created["id"]
    assert created["OS-DCF:diskConfig"] == "AUTO"
    await wait_for(member, server_id, "ACTIVE")
    manual = {"server": {"OS-DCF:diskConfig": "MANUAL"}}
    updated = (await member.put(f"servers/{server_id}", manual)).check("servers.update_server")
    assert updated["server"]["OS-DCF:diskConfig"] == "MANUAL"
    rebuild = {"imageRef": image_id, "OS-DCF:diskConfig": "AUTO"}
    assert await act(member, server_id, "rebuild", rebuild) == 202
    assert (await wait_for(member, server_id, "ACTIVE"))["OS-DCF:diskConfig"] == "AUTO"
    resize = {"flavorRef": "2", "OS-DCF:diskConfig": "MANUAL"}
    assert await act(member, server_id, "resize", resize) == 202
    assert (await wait_for(member, server_id, "VERIFY_RESIZE"))["OS-DCF:diskConfig"] == "MANUAL"
    bad = {"imageRef": image_id, "OS-DCF:diskConfig": "SOMETIMES"}
    assert await act(member, server_id, "rebuild", bad) == 400
    assert (await member.put(f"servers/{server_id}", {"server": bad})).status == 400


async def backups(nova: Nova, server_id: str) -> list[str]:
    reply = await nova.call(
        "GET",
        f"images?instance_uuid={server_id}&image_type=backup&sort_key=created_at&sort_dir=asc",
        prefix="/image/v2",
    )
    return [i["name"] for i in reply.body["images"] if i["status"] == "active"]


async def test_backups_rotate(member: Nova, image_id: str) -> None:
    """Each backup keeps the newest `rotation` of the server's backups of its type."""
    server_id = await create(member, image_id)
    await wait_for(member, server_id, "ACTIVE")
    for name, backup_type in (("b1", "daily"), ("w1", "weekly"), ("b2", "daily"), ("b3", "daily")):
        backup = {"name": name, "backup_type": backup_type, "rotation": "2"}
        reply = await member.post(f"servers/{server_id}/action", {"createBackup": backup})
        assert reply.status == 202 and "/images/" in reply.headers["Location"]
        await idle(member, server_id)
    assert await backups(member, server_id) == ["w1", "b2", "b3"]
    for bad in (
        {"name": "b", "backup_type": "daily"},
        {"name": "b", "backup_type": "daily", "rotation": -1},
    ):
        assert await act(member, server_id, "createBackup", bad) == 400, bad


async def test_invalid_snapshots_are_refused(member: Nova, image_id: str) -> None:
    server_id = await create(member, image_id)
    await wait_for(member, server_id, "ACTIVE")
    for bad in (
        {"name": "a" * 256},
        {"name": "s", "metadata": {"": ""}},
        {"name": "s", "metadata": {"a" * 256: "b"}},
        {"name": " "},
    ):
        assert await act(member, server_id, "createImage", bad) == 400, bad
    assert await act(member, server_id, "os-stop") == 202
    await wait_for(member, server_id, "SHUTOFF")
    assert await act(member, server_id, "createImage", {"name": "from-stopped"}) == 202
    assert (await idle(member, server_id))["status"] == "SHUTOFF"


async def test_restore_is_refused_as_no_server_is_soft_deleted(member: Nova, image_id: str) -> None:
    server_id = await create(member, image_id)
    await wait_for(member, server_id, "ACTIVE")
    assert await act(member, server_id, "restore") == 409


async def test_external_events(member: Nova, admin_nova: Nova, image_id: str) -> None:
    server_id = await create(member, image_id)
    await wait_for(member, server_id, "ACTIVE")
    gone = "00000000-0000-0000-0000-000000000000"
    changed = {"name": "network-changed", "server_uuid": server_id}
    reply = await admin_nova.post("os-server-external-events", {"events": [changed]})
    reply.check("server_external_events.create")
    assert reply.body["events"] == [changed | {"status": "completed", "code": 200}]
    both = {"events": [changed, changed | {"server_uuid": gone, "tag": "t"}]}
    mixed = await admin_nova.post("os-server-external-events", both)
    assert mixed.status == 207 and [e["code"] for e in mixed.body["events"]] == [200, 404]
    missing = {"events": [changed | {"server_uuid": gone}]}
    assert (await admin_nova.post("os-server-external-events", missing)).status == 404
    assert (await member.post("os-server-external-events", {"events": [changed]})).status == 403
    for bad in ({"events": []}, {"events": [changed | {"name": "coffee"}]}):
        assert (await admin_nova.post("os-server-external-events", bad)).status == 400


async def test_diagnostics_and_password(member: Nova, admin_nova: Nova, image_id: str) -> None:
    server_id = await create(member, image_id)
    await wait_for(member, server_id, "ACTIVE")
    diagnostics = await admin_nova.get(f"servers/{server_id}/diagnostics")
    assert diagnostics.status == 200
    assert diagnostics.body["memory"] == 128 * 1024 and diagnostics.body["state"] == "running"
    standard = (await admin_nova.at("2.48").get(f"servers/{server_id}/diagnostics")).check(
        "servers.show_server_diagnostics", "v2_48"
    )
    assert (standard["state"], standard["driver"], standard["num_cpus"]) == (
        "running",
        "libvirt",
        1,
    )
    assert standard["memory_details"] == {"maximum": 128, "used": None}
    assert standard["num_nics"] == len(standard["nic_details"]) == 1
    assert standard["nic_details"][0]["mac_address"].startswith("fa:16:3e:")
    assert (standard["num_disks"], standard["config_drive"]) == (1, False)
    assert (await member.get(f"servers/{server_id}/diagnostics")).status == 403
    password = await member.get(f"servers/{server_id}/os-server-password")
    assert password.check("servers.show_password") == {"password": ""}
    deleted = await member.delete(f"servers/{server_id}/os-server-password")
    deleted.check("servers.server_actions_delete_password")
    other = "00000000-0000-0000-0000-000000000000"
    assert (await member.get(f"servers/{other}/os-server-password")).status == 404


async def ram_used(nova: Nova) -> int:
    used: int = (await nova.get("limits")).body["limits"]["absolute"]["totalRAMUsed"]
    return used


async def test_a_resize_claims_what_it_grows_by(
    member: Nova, admin_nova: Nova, image_id: str
) -> None:
    """A resize takes the quota its flavor grows by (403 past the limit); confirming gives
    back what only the old flavor took, reverting what the resize took; a delete gives
    back all."""
    server_id = await create(member, image_id)  # m1.nano: 128 MB
    await wait_for(member, server_id, "ACTIVE")
    project_id = (await member.get(f"servers/{server_id}")).body["server"]["tenant_id"]
    await admin_nova.put(f"os-quota-sets/{project_id}", {"quota_set": {"ram": 256}})
    assert await act(member, server_id, "resize", {"flavorRef": "3"}) == 403  # 512 MB
    assert await act(member, server_id, "resize", {"flavorRef": "2"}) == 202  # 192 MB
    await wait_for(member, server_id, "VERIFY_RESIZE")
    assert await ram_used(member) == 192
    assert await act(member, server_id, "confirmResize") == 204
    await wait_for(member, server_id, "ACTIVE")
    assert await ram_used(member) == 192
    assert await act(member, server_id, "resize", {"flavorRef": "1"}) == 202
    await wait_for(member, server_id, "VERIFY_RESIZE")
    assert await ram_used(member) == 192  # the larger flavor's until confirmed
    assert await act(member, server_id, "revertResize") == 202
    await wait_for(member, server_id, "ACTIVE")
    assert await ram_used(member) == 192
    assert await act(member, server_id, "resize", {"flavorRef": "1"}) == 202
    await wait_for(member, server_id, "VERIFY_RESIZE")
    assert await act(member, server_id, "confirmResize") == 204
    await wait_for(member, server_id, "ACTIVE")
    assert await ram_used(member) == 128
    assert (await member.delete(f"servers/{server_id}")).status == 204
    await wait_for(member, server_id, "DELETED")
    assert await ram_used(member) == 0
