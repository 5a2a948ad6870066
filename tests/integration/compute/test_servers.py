"""Servers end to end on libvirt's test driver: the API records requests, this process's
compute host carries them out on real libvirt domains and disk overlays, and the API
shows the results in Tempest's schemas."""

import asyncio
import io
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from aiohttp.test_utils import TestClient, TestServer

from events.postgres import PostgresEventStore
from service.app import create_app
from service.compute.flavor_bootstrap import ensure_default_flavors
from service.compute.hypervisor import DomainSpec, LifecycleEvent, LifecycleKind
from service.compute.libvirt import LibvirtDriver
from service.compute.server_view import instance_name
from service.compute.watcher import HostWatcher
from service.config import Settings
from service.identity.bootstrap import Bootstrapped
from tests.integration.compute.conftest import Nova
from tests.integration.compute.hypervisor_helpers import PUBLIC_KEY, config_drive_meta_data
from tests.integration.identity.conftest import (
    ADMIN_PASSWORD,
    Api,
    Client,
    make_person,
    password_auth,
    token_for,
)

TIMEOUT = 30


@pytest.fixture
async def cloud(
    settings: Settings,
    store: PostgresEventStore,
    admin: Bootstrapped,
    request: pytest.FixtureRequest,
) -> AsyncIterator[Client]:
    """The whole app with its compute host on test:///default; a test may parametrize it
    (indirectly) with the KUMO_FORCE_CONFIG_DRIVE it runs with (default: unset)."""
    settings = msgspec.structs.replace(
        settings,
        libvirt_uri="test:///default",
        host_name="h1",
        force_config_drive=getattr(request, "param", None),
    )
    await ensure_default_flavors(store)
    app = create_app(settings, store, compute=True)
    async with TestClient(TestServer(app)) as client:
        yield client


@pytest.fixture
async def admin_nova(cloud: Client) -> Nova:
    token = await token_for(cloud, password_auth("admin", ADMIN_PASSWORD, project="admin"))
    return Nova(cloud, token)


@pytest.fixture
async def image_id(cloud: Client, admin_nova: Nova, tmp_path: Path) -> str:
    return await upload_image(cloud, admin_nova, tmp_path, "base")


async def upload_image(
    cloud: Client,
    admin_nova: Nova,
    tmp_path: Path,
    name: str,
    options: tuple[str, ...] = ("-f", "qcow2"),
    disk_format: str = "qcow2",
) -> str:
    """A small real image (by default a qcow2) made by `qemu-img create` with `options`,
    public, uploaded through the image API as `disk_format`."""
    disk = tmp_path / f"{name}.img"
    subprocess.run(  # noqa: ASYNC221 - a fixture, before the app is used
        ["qemu-img", "create", "-q", *options, str(disk), "16M"], check=True
    )
    headers = {"X-Auth-Token": admin_nova.token}
    created = await cloud.post(
        "/image/v2/images",
        headers=headers,
        json={
            "name": name,
            "disk_format": disk_format,
            "container_format": "bare",
            "visibility": "public",
        },
    )
    assert created.status == 201, await created.text()
    image = (await created.json())["id"]
    uploaded = await cloud.put(
        f"/image/v2/images/{image}/file",
        data=io.BytesIO(disk.read_bytes()),
        headers={**headers, "Content-Type": "application/octet-stream"},
    )
    assert uploaded.status == 204
    return str(image)


@pytest.fixture
async def member(cloud: Client, admin_nova: Nova) -> Nova:
    person = await make_person(Api(cloud, admin_nova.token), "member", "mia")
    return Nova(cloud, person.token)


async def wait_for(nova: Nova, server_id: str, status: str) -> dict[str, Any]:
    async with asyncio.timeout(TIMEOUT):
        while True:
            reply = await nova.get(f"servers/{server_id}")
            if status == "DELETED" and reply.status == 404:
                return {}
            assert reply.status == 200, reply.body
            server: dict[str, Any] = reply.body["server"]
            if server["status"] == status:
                return server
            assert server["status"] != "ERROR", server.get("fault")
            await asyncio.sleep(0.05)


async def create(nova: Nova, image_id: str, name: str = "s1", flavor: str = "1") -> str:
    reply = await nova.post(
        "servers", {"server": {"name": name, "imageRef": image_id, "flavorRef": flavor}}
    )
    body = reply.check("servers.create_server_with_admin_pass")
    return str(body["server"]["id"])


async def test_server_lifecycle_through_the_api(
    member: Nova, admin_nova: Nova, image_id: str
) -> None:
    server_id = await create(member, image_id)
    active = await wait_for(member, server_id, "ACTIVE")
    (await member.get(f"servers/{server_id}")).check("servers.get_server")
    assert active["OS-EXT-STS:power_state"] == 1 and active["image"]["id"] == image_id
    (await member.get("servers")).check("servers.list_servers")
    (await member.get("servers/detail")).check("servers.list_servers_detail")

    for action, status in (
        ("os-stop", "SHUTOFF"),
        ("os-start", "ACTIVE"),
        ("pause", "PAUSED"),
        ("unpause", "ACTIVE"),
        ("suspend", "SUSPENDED"),
        ("resume", "ACTIVE"),
    ):
        reply = await member.post(f"servers/{server_id}/action", {action: None})
        assert reply.status == 202, reply.body
        await wait_for(member, server_id, status)
    reply = await member.post(f"servers/{server_id}/action", {"os-start": None})
    assert reply.status == 409, "starting a running server conflicts"
    reply = await member.post(f"servers/{server_id}/action", {"reboot": {"type": "HARD"}})
    assert reply.status == 202
    await wait_for(member, server_id, "ACTIVE")

    actions = (await member.get(f"servers/{server_id}/os-instance-actions")).check(
        "servers.list_instance_actions"
    )
    names = [a["action"] for a in actions["instanceActions"]]
    assert names == ["reboot", "resume", "suspend", "unpause", "pause", "start", "stop", "create"]
    request_id = actions["instanceActions"][-1]["request_id"]
    path = f"servers/{server_id}/os-instance-actions/{request_id}"
    shown = (await member.at("2.51").get(path)).check("servers.show_instance_action", "v2_51")
    assert shown["instanceAction"]["events"][0]["result"] == "Success"
    assert "traceback" not in shown["instanceAction"]["events"][0]
    before = (await member.get(path)).check("servers.show_instance_action")
    assert "events" not in before["instanceAction"], "only admins see them before 2.51"
    later = (await member.at("2.58").get(path)).check("servers.show_instance_action", "v2_58")
    hashed = (await member.at("2.62").get(path)).check("servers.show_instance_action", "v2_62")
    [event] = hashed["instanceAction"]["events"]
    assert len(event["hostId"]) == 56 and "host" not in event
    admin_view = (await admin_nova.at("2.62").get(path)).check(
        "servers.show_instance_action", "v2_62"
    )
    assert admin_view["instanceAction"]["events"][0]["host"] == "h1"
    assert later["instanceAction"]["updated_at"] >= later["instanceAction"]["start_time"]
    actions_path = f"servers/{server_id}/os-instance-actions"
    nova = member.at("2.58")
    page = (await nova.get(f"{actions_path}?limit=2")).check(
        "servers.list_instance_actions", "v2_58"
    )
    assert [a["action"] for a in page["instanceActions"]] == names[:2]
    marker = page["instanceActions"][1]["request_id"]
    assert page["links"][0]["href"].endswith(f"limit=2&marker={marker}")
    rest = (await nova.get(f"{actions_path}?marker={marker}")).body["instanceActions"]
    assert [a["action"] for a in rest] == names[2:]
    since = later["instanceAction"]["updated_at"]
    recent = (await nova.get(f"{actions_path}?changes-since={since}")).body["instanceActions"]
    assert recent[-1]["request_id"] == request_id and len(recent) == len(names)
    assert (await nova.get(f"{actions_path}?changes-since=2999-01-01T00:00:00Z")).body == {
        "instanceActions": []
    }
    for bad in ("colour=red", "marker=nothing", "limit=-1", "changes-since=yesterday"):
        assert (await nova.get(f"{actions_path}?{bad}")).status == 400, bad
    assert (await member.delete(f"servers/{server_id}")).status == 204
    await wait_for(member, server_id, "DELETED")


async def test_a_server_create_is_audited_on_the_server_not_on_its_port(
    member: Nova, admin_nova: Nova, image_id: str, store: PostgresEventStore
) -> None:
    body = {"server": {"name": "audited", "imageRef": image_id, "flavorRef": "1"}}
    reply = await member.post("servers", body)
    assert reply.status == 202, reply.body
    server_id = reply.body["server"]["id"]
    audited = await store.read_all(0, 10_000, types=["AuditRecorded"])
    records = [e for e in audited if e.event.path == "/compute/v2.1/servers"]
    assert [(e.event.target.type, e.event.target.id) for e in records] == [("server", server_id)]
    assert (records[0].event.status, records[0].event.outcome) == (202, "pending")
    requested = (await store.read_stream(f"server-{server_id}", limit=1))[0]
    assert records[0].recorded_at == requested.recorded_at  # committed in one append
    # A create refused (over quota) has its audit record appended on its own.
    full = {"quota_set": {"instances": 1}}
    project = records[0].event.initiator.project_id
    assert (await admin_nova.put(f"os-quota-sets/{project}", full)).status == 200
    refused = await member.post("servers", body)
    assert refused.status == 403, refused.body
    [record] = await store.read_stream(f"audit-{refused.headers['X-Compute-Request-Id']}")
    assert (record.event.status, record.event.outcome) == (403, "failure")


@pytest.mark.parametrize(
    ("options", "disk_format", "reason"),
    [
        (("-f", "qcow2", "-b", "/etc/hostname", "-F", "raw"), "qcow2", "names a backing file"),
        (("-f", "qcow2"), "raw", "its content is qcow2, not its disk_format raw"),
        (("-f", "raw"), "qcow2", "its content is raw, not its disk_format qcow2"),
        (("-f", "vmdk"), "vmdk", "not one this host boots"),
    ],
)
async def test_an_image_that_is_not_what_it_claims_or_reaches_for_host_files_is_not_booted(
    cloud: Client,
    admin_nova: Nova,
    member: Nova,
    tmp_path: Path,
    options: tuple[str, ...],
    disk_format: str,
    reason: str,
) -> None:
    image = await upload_image(cloud, admin_nova, tmp_path, "bad", options, disk_format)
    failed = await wait_for(member, await create(member, image), "ERROR")
    assert f"Image {image} is unacceptable" in failed["fault"]["message"], failed["fault"]
    assert reason in failed["fault"]["message"], failed["fault"]


async def test_a_raw_image_boots_as_raw(
    cloud: Client, admin_nova: Nova, member: Nova, tmp_path: Path
) -> None:
    image = await upload_image(cloud, admin_nova, tmp_path, "plain", ("-f", "raw"), "raw")
    await wait_for(member, await create(member, image), "ACTIVE")


async def test_other_projects_cannot_see_or_touch_a_server(
    cloud: Client, admin_nova: Nova, member: Nova, image_id: str
) -> None:
    server_id = await create(member, image_id)
    other = await make_person(Api(cloud, admin_nova.token), "member", "otto")
    reader = await make_person(
        Api(cloud, admin_nova.token), "reader", "rena", await _project_of(member)
    )
    as_other, as_reader = Nova(cloud, other.token), Nova(cloud, reader.token)
    assert (await as_other.get(f"servers/{server_id}")).status == 404
    assert (await as_other.delete(f"servers/{server_id}")).status == 404
    assert (await as_other.get("servers")).body["servers"] == []
    assert (await as_reader.get(f"servers/{server_id}")).status == 200
    assert (await as_reader.delete(f"servers/{server_id}")).status == 403
    stop = await as_reader.post(f"servers/{server_id}/action", {"os-stop": None})
    assert stop.status == 403


async def _project_of(nova: Nova) -> str:
    response = await nova.client.get(
        "/identity/v3/auth/tokens",
        headers={"X-Auth-Token": nova.token, "X-Subject-Token": nova.token},
    )
    return str((await response.json())["token"]["project"]["id"])


async def test_parallel_creates_at_the_quota_limit_let_exactly_the_allowed_ones_in(
    cloud: Client, admin_nova: Nova, member: Nova, image_id: str
) -> None:
    project = await _project_of(member)
    reply = await admin_nova.put(f"os-quota-sets/{project}", {"quota_set": {"instances": 3}})
    assert reply.status == 200, reply.body
    replies = await asyncio.gather(
        *(
            member.post(
                "servers", {"server": {"name": f"q{i}", "imageRef": image_id, "flavorRef": "1"}}
            )
            for i in range(8)
        )
    )
    assert sorted(r.status for r in replies) == [202] * 3 + [403] * 5
    usage = (await member.get(f"os-quota-sets/{project}/detail")).body["quota_set"]
    assert usage["instances"]["in_use"] == 3


async def test_snapshot_becomes_an_active_image(member: Nova, image_id: str) -> None:
    server_id = await create(member, image_id)
    await wait_for(member, server_id, "ACTIVE")
    reply = await member.post(f"servers/{server_id}/action", {"createImage": {"name": "snap"}})
    assert reply.status == 202
    snapshot = reply.headers["Location"].rsplit("/", 1)[-1]
    async with asyncio.timeout(TIMEOUT):
        while (shown := await member.get(f"images/{snapshot}")).body["image"]["status"] != "ACTIVE":
            await asyncio.sleep(0.05)
    shown.check("images.get_image")
    assert shown.body["image"]["OS-EXT-IMG-SIZE:size"] > 0
    assert shown.body["image"]["server"]["id"] == server_id
    async with asyncio.timeout(TIMEOUT):
        while (await member.get(f"servers/{server_id}")).body["server"]["OS-EXT-STS:task_state"]:
            await asyncio.sleep(0.05)
    later = await member.at("2.45").post(
        f"servers/{server_id}/action", {"createImage": {"name": "snap2"}}
    )
    body = later.check("images.create_image", "v2_45")
    assert "Location" not in later.headers
    assert (await member.get(f"images/{body['image_id']}")).body["image"]["name"] == "snap2"


async def test_microversions_are_negotiated_and_echoed(member: Nova, image_id: str) -> None:
    server_id = await create(member, image_id)
    tagged = member.at("2.26")
    reply = await tagged.put(f"servers/{server_id}/tags", {"tags": ["a", "b"]})
    assert reply.status == 200 and reply.headers["OpenStack-API-Version"] == "compute 2.26"
    assert reply.headers["X-OpenStack-Nova-API-Version"] == "2.26"
    shown = await tagged.get(f"servers/{server_id}")
    shown.check("servers.get_server", "v2_26")
    assert shown.body["server"]["tags"] == ["a", "b"]
    assert (await member.at("2.99").get("servers")).status == 406
    assert (await member.get(f"servers/{server_id}/tags")).status == 404, "tags need 2.26"


async def test_admins_ask_for_a_host_from_2_74(
    member: Nova, admin_nova: Nova, image_id: str
) -> None:
    body = {"name": "d", "imageRef": image_id, "flavorRef": "1", "networks": "auto"}
    placed = await admin_nova.at("2.74").post(
        "servers", {"server": body | {"host": "h1", "hypervisor_hostname": "h1"}}
    )
    assert placed.status == 202, placed.body
    server = await wait_for(admin_nova, placed.body["server"]["id"], "ACTIVE")
    shown = (await admin_nova.at("2.3").get(f"servers/{server['id']}")).body["server"]
    assert shown["OS-EXT-SRV-ATTR:host"] == "h1"
    for nova, version, asked, status in (
        (admin_nova, "2.74", {"host": "nowhere"}, 400),
        (admin_nova, "2.74", {"hypervisor_hostname": "nowhere"}, 400),
        (admin_nova, "2.73", {"host": "h1"}, 400),
        (member, "2.74", {"host": "h1"}, 403),
    ):
        reply = await nova.at(version).post("servers", {"server": body | asked})
        assert reply.status == status, (version, asked)


async def test_tags_given_at_create_from_2_52(member: Nova, image_id: str) -> None:
    body = {"name": "t", "imageRef": image_id, "flavorRef": "1", "networks": "auto"}
    reply = await member.at("2.52").post("servers", {"server": body | {"tags": ["b", "a", "b"]}})
    assert reply.status == 202, reply.body
    shown = await member.at("2.52").get(f"servers/{reply.body['server']['id']}")
    assert shown.body["server"]["tags"] == ["b", "a"]


async def test_rebuild_shows_the_new_image_and_name_at_once(
    cloud: Client, admin_nova: Nova, member: Nova, image_id: str, tmp_path: Path
) -> None:
    other_image = await upload_image(cloud, admin_nova, tmp_path, "other")
    server_id = await create(member, image_id)
    await wait_for(member, server_id, "ACTIVE")
    reply = await member.post(
        f"servers/{server_id}/action",
        {
            "rebuild": {
                "imageRef": other_image,
                "name": "renamed",
                "metadata": {"rebuild": "yes"},
                "adminPass": "pw-1",
            }
        },
    )
    body = reply.check("servers.rebuild_server_with_admin_pass")["server"]
    assert (body["image"]["id"], body["name"], body["metadata"]) == (
        other_image,
        "renamed",
        {"rebuild": "yes"},
    )
    rebuilt = await wait_for(member, server_id, "ACTIVE")
    assert rebuilt["image"]["id"] == other_image and rebuilt["name"] == "renamed"
    assert (await member.post("os-keypairs", {"keypair": {"name": "k"}})).status == 200
    keyed = {"rebuild": {"imageRef": image_id, "key_name": "k"}}
    path = f"servers/{server_id}/action"
    assert (await member.at("2.53").post(path, keyed)).status == 400, "key_name from 2.54"
    reply = await member.at("2.54").post(path, keyed)
    assert (
        reply.check("servers.rebuild_server_with_admin_pass", "v2_54")["server"]["key_name"] == "k"
    )
    await wait_for(member, server_id, "ACTIVE")
    assert (await member.get(f"servers/{server_id}")).body["server"]["key_name"] == "k"
    unknown = {"rebuild": {"imageRef": image_id, "key_name": "nope"}}
    assert (await member.at("2.54").post(path, unknown)).status == 400


async def test_rebuild_gives_new_user_data_from_2_57(
    member: Nova, admin_nova: Nova, image_id: str
) -> None:
    created = await member.post(
        "servers",
        {"server": {"name": "u", "imageRef": image_id, "flavorRef": "1", "user_data": "YQ=="}},
    )
    server_id = created.body["server"]["id"]
    await wait_for(member, server_id, "ACTIVE")
    attribute = "OS-EXT-SRV-ATTR:user_data"
    assert (await admin_nova.at("2.3").get(f"servers/{server_id}")).body["server"][
        attribute
    ] == "YQ=="
    path = f"servers/{server_id}/action"
    given = {"rebuild": {"imageRef": image_id, "user_data": "Yg=="}}
    assert (await member.at("2.56").post(path, given)).status == 400, "user_data from 2.57"
    reply = await member.at("2.57").post(path, given)
    assert (
        reply.check("servers.rebuild_server_with_admin_pass", "v2_57")["server"]["user_data"]
        == "Yg=="
    )
    await wait_for(member, server_id, "ACTIVE")
    assert (await admin_nova.at("2.3").get(f"servers/{server_id}")).body["server"][
        attribute
    ] == "Yg=="
    for bad in ({"user_data": "not base64!"}, {"personality": []}):
        body = {"rebuild": {"imageRef": image_id} | bad}
        assert (await member.at("2.57").post(path, body)).status == 400, bad
    removed = await member.at("2.57").post(
        path, {"rebuild": {"imageRef": image_id, "user_data": None}}
    )
    assert removed.body["server"]["user_data"] is None


@pytest.mark.parametrize(
    ("cloud", "drives"),
    [(None, ["", "True", "True"]), (True, ["True"] * 3), (False, [""] * 3)],
    indirect=["cloud"],
)
async def test_who_gets_a_config_drive(
    cloud: Client, member: Nova, image_id: str, drives: list[str]
) -> None:
    """With no metadata service a key pair or user data reaches a guest only on a config
    drive: unless KUMO_FORCE_CONFIG_DRIVE says otherwise, servers with them get one."""
    keypair = {"keypair": {"name": "k", "public_key": PUBLIC_KEY}}
    assert (await member.post("os-keypairs", keypair)).status == 200
    plain = {"name": "plain", "imageRef": image_id, "flavorRef": "1"}
    bodies = [plain, plain | {"key_name": "k"}, plain | {"user_data": "YQ=="}]
    created = [(await member.post("servers", {"server": b})).body["server"]["id"] for b in bodies]
    shown = [(await wait_for(member, s, "ACTIVE"))["config_drive"] for s in created]
    assert shown == drives


async def test_a_key_pair_is_the_callers_own_and_an_unknown_one_is_refused(
    cloud: Client, admin_nova: Nova, image_id: str
) -> None:
    """Key pairs belong to users: not even a colleague in the server's project, nor an
    admin, can give a server someone else's."""
    as_admin = Api(cloud, admin_nova.token)
    mia = await make_person(as_admin, "member", "mia")
    otto = await make_person(as_admin, "member", "otto", mia.project_id)
    member, colleague = Nova(cloud, mia.token), Nova(cloud, otto.token)
    assert (await member.post("os-keypairs", {"keypair": {"name": "mias"}})).status == 200
    for nova, name in ((member, "nope"), (colleague, "mias"), (admin_nova, "mias")):
        body = {"name": "keyed", "imageRef": image_id, "flavorRef": "1", "key_name": name}
        reply = await nova.post("servers", {"server": body})
        assert (reply.status, reply.body) == (
            400,
            {"badRequest": {"code": 400, "message": "Invalid key_name provided."}},
        ), name
    assert (await member.get("servers")).body["servers"] == []


async def test_a_rebuild_that_brings_a_key_pair_brings_a_config_drive_to_carry_it(
    member: Nova, image_id: str, settings: Settings
) -> None:
    guests = settings.data_dir / "compute"
    server_id = await create(member, image_id)
    assert (await wait_for(member, server_id, "ACTIVE"))["config_drive"] == ""
    assert not (guests / "instances" / server_id / "config.iso").exists()
    keypair = {"keypair": {"name": "k", "public_key": PUBLIC_KEY}}
    assert (await member.post("os-keypairs", keypair)).status == 200
    path = f"servers/{server_id}/action"
    reply = await member.at("2.54").post(path, {"rebuild": {"imageRef": image_id, "key_name": "k"}})
    assert reply.status == 202, reply.body
    assert (await wait_for(member, server_id, "ACTIVE"))["config_drive"] == "True"
    found = await asyncio.to_thread(config_drive_meta_data, guests, server_id)
    assert found["public_keys"] == {"k": PUBLIC_KEY}
    assert found["keys"] == [{"name": "k", "type": "ssh", "data": PUBLIC_KEY}]


@pytest.fixture
async def server_id(member: Nova, image_id: str) -> str:
    """An ACTIVE server of `member`'s."""
    created = await create(member, image_id)
    await wait_for(member, created, "ACTIVE")
    return created


async def test_a_stop_seen_after_its_domain_runs_again_is_not_recorded(
    member: Nova, server_id: str, store: PostgresEventStore
) -> None:
    """A hard reboot's stop, reported once the reboot is over: the server stays ACTIVE
    (it used to become SHUTOFF, and `openstack server reboot --wait` waited for ever)."""
    async with LibvirtDriver("test:///default") as host:
        watcher = HostWatcher(store, host, "h1")
        await host.reboot(server_id, hard=True)
        await watcher.lifecycle(stop_of(server_id))
        assert "ServerPowerObserved" not in await event_types(store, server_id)
        await host.power_off(server_id, 0)
        await watcher.lifecycle(stop_of(server_id))  # now true: recorded
    assert (await event_types(store, server_id))[-1] == "ServerPowerObserved"
    assert (await wait_for(member, server_id, "SHUTOFF"))["OS-EXT-STS:power_state"] == 4


async def test_a_stop_the_hypervisor_cannot_confirm_is_not_recorded(
    server_id: str, store: PostgresEventStore
) -> None:
    """The lifecycle follower goes on when the hypervisor is out of reach."""
    async with LibvirtDriver("test:///default") as host:
        watcher = HostWatcher(store, host, "h1")
    await watcher.lifecycle(stop_of(server_id))  # the driver is closed: not an error
    assert "ServerPowerObserved" not in await event_types(store, server_id)


def stop_of(server_id: str) -> LifecycleEvent:
    """The lifecycle event of the server's domain stopping."""
    return LifecycleEvent(uuid=server_id, name=instance_name(server_id), kind=LifecycleKind.STOPPED)


async def event_types(store: PostgresEventStore, server_id: str) -> list[str]:
    return [recorded.type for recorded in await store.read_stream(f"server-{server_id}")]


async def test_a_guest_that_stops_by_itself_is_recorded_and_leftovers_are_destroyed(
    member: Nova, server_id: str, store: PostgresEventStore
) -> None:
    async with LibvirtDriver("test:///default") as host:
        watcher = HostWatcher(store, host, "h1")
        following = asyncio.create_task(watcher.follow_lifecycle())
        try:
            await asyncio.sleep(0.1)
            await host.power_off(server_id, 0)  # as if the guest had shut itself down
            stopped = await wait_for(member, server_id, "SHUTOFF")
            assert stopped["OS-EXT-STS:power_state"] == 4
        finally:
            following.cancel()
            await asyncio.gather(following, return_exceptions=True)
        assert (await member.delete(f"servers/{server_id}")).status == 204
        await wait_for(member, server_id, "DELETED")
        leftover = DomainSpec(
            uuid=server_id,
            name=instance_name(server_id),
            vcpus=1,
            memory_mib=64,
            serial_log="/dev/null",
        )
        await host.spawn(leftover)  # as if a crash had stopped the delete half-way
        stranger = str(uuid.uuid4())
        await host.spawn(
            DomainSpec(
                uuid=stranger,
                name=instance_name(stranger),
                vcpus=1,
                memory_mib=64,
                serial_log="/dev/null",
            )
        )
        fixed = await watcher.reconcile()
        assert fixed == [f"{server_id}: domain of a deleted server destroyed"]
        remaining = {d.uuid for d in await host.list_domains()}
        assert server_id not in remaining and stranger in remaining, "not ours to end"
        await host.destroy(stranger)
