"""Scheduling across compute hosts: two hosts on libvirt's test driver (each worker
with a hypervisor state of its own) behind one API; servers spread by the
least-loaded weigher, server groups, a disabled host, a full host, no host at all, and
claims that stay exact when creates race. One test runs a host as `kumo worker`."""

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
from aiohttp.test_utils import TestClient, TestServer

from events.postgres import PostgresEventStore
from service.app import create_app
from service.compute.flavor_bootstrap import ensure_default_flavors
from service.compute.scheduler import NO_VALID_HOST
from service.compute.worker import compute_worker
from service.config import Settings
from service.http.keys import SETTINGS
from service.identity.bootstrap import Bootstrapped
from service.image.stores import IMAGE_STORES
from tests.conftest import ROOT
from tests.integration.compute.conftest import Nova
from tests.integration.compute.test_servers import TIMEOUT, upload_image, wait_for
from tests.integration.identity.conftest import ADMIN_PASSWORD, Client, password_auth, token_for

Hosts = Callable[..., contextlib.AbstractAsyncContextManager[None]]


@pytest.fixture
async def cloud(
    settings: Settings, store: PostgresEventStore, admin: Bootstrapped
) -> AsyncIterator[Client]:
    """The API alone: the hosts are started by each test."""
    await ensure_default_flavors(store)
    async with TestClient(TestServer(create_app(settings, store))) as client:
        yield client


@pytest.fixture
async def nova(cloud: Client) -> Nova:
    token = await token_for(cloud, password_auth("admin", ADMIN_PASSWORD, project="admin"))
    return Nova(cloud, token)


@pytest.fixture
async def image_id(cloud: Client, nova: Nova, tmp_path: Path) -> str:
    return await upload_image(cloud, nova, tmp_path, "base")


NODE = """<node>
  <cpu><nodes>2</nodes><sockets>2</sockets><cores>2</cores><threads>2</threads>
    <active>16</active><mhz>1400</mhz><model>i686</model></cpu>
  <memory>3145728</memory>
</node>
"""
"""A test-driver host like test:///default's (16 CPUs, 3 GiB) with nothing on it."""


def private_hypervisor(folder: Path, name: str) -> str:
    """A libvirt URI of the test driver whose state is the connection's own: every
    connection to test:///default in a process shares one state (domains, networks),
    so two hosts there would see, and reconcile, each other's guests and networks."""
    folder.mkdir(parents=True, exist_ok=True)
    node = folder / f"{name}-node.xml"
    node.write_text(NODE)
    return f"test://{node}"


@pytest.fixture
def hosts(cloud: Client, store: PostgresEventStore, tmp_path: Path) -> Hosts:
    """Start compute hosts on the test driver in this process, each with a hypervisor of
    its own: one per keyword, its name mapped to its settings (e.g.
    h1={"ram_allocation_ratio": 0.125})."""
    app = cloud.server.app

    @contextlib.asynccontextmanager
    async def started(**specs: dict[str, Any]) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            for name, spec in specs.items():
                uri = private_hypervisor(tmp_path / "hypervisors", name)
                settings = msgspec.structs.replace(
                    app[SETTINGS], host_name=name, libvirt_uri=uri, **spec
                )
                await stack.enter_async_context(
                    compute_worker(settings, store, app[IMAGE_STORES], folder=tmp_path / name)
                )
            yield

    return started


async def boot(nova: Nova, image_id: str, name: str, **extra: Any) -> str:
    """POST /servers; the new server's id."""
    hints = extra.pop("hints", None)
    body: dict[str, Any] = {
        "server": {"name": name, "imageRef": image_id, "flavorRef": "1"} | extra
    }
    if hints:
        body["os:scheduler_hints"] = hints
    reply = await nova.post("servers", body)
    assert reply.status == 202, reply.body
    return str(reply.body["server"]["id"])


async def host_of(nova: Nova, server_id: str) -> str:
    server = await wait_for(nova, server_id, "ACTIVE")
    return str(server["OS-EXT-SRV-ATTR:host"])


async def group(nova: Nova, policy: str) -> str:
    body = {"server_group": {"name": policy, "policies": [policy]}}
    reply = await nova.at("2.15").post("os-server-groups", body)
    assert reply.status == 200, reply.body
    return str(reply.body["server_group"]["id"])


async def hypervisors(nova: Nova) -> dict[str, dict[str, Any]]:
    listed = (await nova.get("os-hypervisors/detail")).check("hypervisors.list_hypervisors_detail")
    return {h["hypervisor_hostname"]: h for h in listed["hypervisors"]}


async def in_use(nova: Nova, project: str) -> dict[str, int]:
    detail = (await nova.get(f"os-quota-sets/{project}/detail")).body["quota_set"]
    return {k: detail[k]["in_use"] for k in ("instances", "cores", "ram")}


async def test_servers_spread_over_the_least_loaded_hosts(
    nova: Nova, image_id: str, hosts: Hosts
) -> None:
    async with hosts(h1={}, h2={}):
        placed = [await host_of(nova, await boot(nova, image_id, f"s{i}")) for i in range(4)]
        assert sorted(placed) == ["h1", "h1", "h2", "h2"]
        assert placed[0] != placed[1]
        many = await boot(nova, image_id, "m", min_count=2, max_count=2)
        listed = (await nova.get("servers/detail?name=^m-")).body["servers"]
        assert len(listed) == 2 and many in [s["id"] for s in listed]
        assert sorted([await host_of(nova, s["id"]) for s in listed]) == ["h1", "h2"]
        seen = await hypervisors(nova)
        for name in ("h1", "h2"):
            assert seen[name]["running_vms"] == 3
            assert (seen[name]["vcpus_used"], seen[name]["memory_mb_used"]) == (3, 384)
            assert seen[name]["local_gb_used"] == 3
        services = (await nova.get("os-services")).check("services.list_services")["services"]
        assert [(s["host"], s["status"]) for s in services] == [
            ("h1", "enabled"),
            ("h2", "enabled"),
        ]


async def test_anti_affinity_forces_different_hosts_and_affinity_one(
    nova: Nova, image_id: str, hosts: Hosts, admin: Bootstrapped
) -> None:
    async with hosts(h1={}, h2={}):
        apart = await group(nova, "anti-affinity")
        first = await boot(nova, image_id, "a1", hints={"group": apart})
        second = await boot(nova, image_id, "a2", hints={"group": apart})
        assert {await host_of(nova, first), await host_of(nova, second)} == {"h1", "h2"}
        before = await in_use(nova, admin.admin_project_id)
        third = await boot(nova, image_id, "a3", hints={"group": apart})
        failed = await nova.get(f"servers/{third}")
        assert failed.body["server"]["status"] == "ERROR"
        assert failed.body["server"]["fault"]["message"] == NO_VALID_HOST
        assert failed.body["server"]["fault"]["code"] == 500
        assert await in_use(nova, admin.admin_project_id) == before, (
            "the failed server's quota is released"
        )
        assert (await nova.delete(f"servers/{third}")).status == 204
        assert (await nova.get(f"servers/{third}")).status == 404

        # with the hosts equally loaded, the soft policy spreads the group too
        soft = await group(nova, "soft-anti-affinity")
        spread = [await boot(nova, image_id, f"x{i}", hints={"group": soft}) for i in range(2)]
        assert {await host_of(nova, s) for s in spread} == {"h1", "h2"}

        together = await group(nova, "affinity")
        ids = [await boot(nova, image_id, f"t{i}", hints={"group": together}) for i in range(3)]
        assert len({await host_of(nova, s) for s in ids}) == 1
        both = await boot(
            nova, image_id, "pair", hints={"group": together}, min_count=2, max_count=2
        )
        assert await host_of(nova, both) == await host_of(nova, ids[0])


async def test_a_disabled_host_receives_nothing(nova: Nova, image_id: str, hosts: Hosts) -> None:
    async with hosts(h1={}, h2={}):
        body = {"host": "h1", "binary": "nova-compute", "disabled_reason": "maintenance"}
        assert (await nova.put("os-services/disable-log-reason", body)).status == 200
        placed = [await host_of(nova, await boot(nova, image_id, f"s{i}")) for i in range(3)]
        assert placed == ["h2", "h2", "h2"]
        enable = {"host": "h1", "binary": "nova-compute"}
        assert (await nova.put("os-services/enable", enable)).status == 200
        assert await host_of(nova, await boot(nova, image_id, "back")) == "h1"


async def test_a_host_whose_worker_stopped_is_down_and_receives_nothing(
    nova: Nova, image_id: str, hosts: Hosts
) -> None:
    async with hosts(h1={}):
        async with hosts(h2={}):
            states = (await nova.get("os-services")).body["services"]
            assert [(s["host"], s["state"]) for s in states] == [("h1", "up"), ("h2", "up")]
        states = (await nova.get("os-services")).body["services"]
        assert [(s["host"], s["state"]) for s in states] == [("h1", "up"), ("h2", "down")]
        listed = (await nova.get("os-hypervisors")).body["hypervisors"]
        assert [h["state"] for h in listed] == ["up", "down"]
        zones = (await nova.get("os-availability-zone/detail")).body["availabilityZoneInfo"]
        services = {name: s["nova-compute"] for name, s in zones[0]["hosts"].items()}
        assert {n: (s["active"], s["available"]) for n, s in services.items()} == {
            "h1": (True, True),
            "h2": (True, False),
        }
        placed = [await host_of(nova, await boot(nova, image_id, f"s{i}")) for i in range(2)]
        assert placed == ["h1", "h1"]


async def test_a_full_host_sends_the_server_to_the_next_and_no_host_is_an_error(
    nova: Nova, image_id: str, hosts: Hosts, admin: Bootstrapped
) -> None:
    # h1 has one vCPU to give (16 x 1/16), h2 plenty; RAM and disk are alike
    async with hosts(h1={"cpu_allocation_ratio": 1 / 16}, h2={}):
        first = await boot(nova, image_id, "n1", availability_zone="nova:h1")
        assert await host_of(nova, first) == "h1"
        for name in ("n2", "n3"):
            forced = await boot(nova, image_id, name, availability_zone="nova:h2")
            assert await host_of(nova, forced) == "h2"
        # h1 has more free RAM and disk, so it would weigh more, but its vCPU is taken
        assert await host_of(nova, await boot(nova, image_id, "n4")) == "h2"
        seen = await hypervisors(nova)
        assert (seen["h1"]["vcpus_used"], seen["h2"]["vcpus_used"]) == (1, 3)

        before = await in_use(nova, admin.admin_project_id)
        # m1.large (8 GiB) fits no host of 3 GiB x 1.5
        reply = await nova.post(
            "servers", {"server": {"name": "big", "imageRef": image_id, "flavorRef": "6"}}
        )
        assert reply.status == 202
        big = (await nova.get(f"servers/{reply.body['server']['id']}")).body["server"]
        assert (big["status"], big["fault"]["message"]) == ("ERROR", NO_VALID_HOST)
        assert big["OS-EXT-SRV-ATTR:host"] is None
        assert await in_use(nova, admin.admin_project_id) == before
        actions = (await nova.get(f"servers/{big['id']}/os-instance-actions")).body
        assert actions["instanceActions"][0]["message"] == NO_VALID_HOST
        refused = await nova.post(f"servers/{big['id']}/action", {"reboot": {"type": "HARD"}})
        assert refused.status == 409

        elsewhere = {"name": "z", "imageRef": image_id, "flavorRef": "1"}
        elsewhere["availability_zone"] = "elsewhere"
        assert (await nova.post("servers", {"server": elsewhere})).status == 400


async def test_racing_creates_never_overfill_a_host(
    nova: Nova, image_id: str, hosts: Hosts, admin: Bootstrapped
) -> None:
    # each host takes three m1.nano (3072 MiB x 0.125 = 384 MiB): six servers in all
    small = {"ram_allocation_ratio": 0.125}
    async with hosts(h1=small, h2=small):
        ids = await asyncio.gather(*(boot(nova, image_id, f"r{i}") for i in range(10)))
        servers = [(await nova.get(f"servers/{s}")).body["server"] for s in ids]
        placed = [s["OS-EXT-SRV-ATTR:host"] for s in servers if s["status"] != "ERROR"]
        failed = [s for s in servers if s["status"] == "ERROR"]
        assert sorted(placed) == ["h1"] * 3 + ["h2"] * 3
        assert len(failed) == 4
        assert {s["fault"]["message"] for s in failed} == {NO_VALID_HOST}
        assert await in_use(nova, admin.admin_project_id) == {
            "instances": 6,
            "cores": 6,
            "ram": 768,
        }
        seen = await hypervisors(nova)
        assert [seen[h]["memory_mb_used"] for h in ("h1", "h2")] == [384, 384]
        for server_id in ids:
            assert (await nova.delete(f"servers/{server_id}")).status == 204
        async with asyncio.timeout(TIMEOUT):
            while any(h["running_vms"] for h in (await hypervisors(nova)).values()):
                await asyncio.sleep(0.05)
        assert await in_use(nova, admin.admin_project_id) == {"instances": 0, "cores": 0, "ram": 0}


async def test_racing_creates_in_an_anti_affinity_group_keep_it_apart(
    nova: Nova, image_id: str, hosts: Hosts
) -> None:
    async with hosts(h1={}, h2={}):
        apart = await group(nova, "anti-affinity")
        ids = await asyncio.gather(
            *(boot(nova, image_id, f"g{i}", hints={"group": apart}) for i in range(5))
        )
        servers = [(await nova.get(f"servers/{s}")).body["server"] for s in ids]
        placed = sorted(s["OS-EXT-SRV-ATTR:host"] for s in servers if s["status"] != "ERROR")
        assert placed == ["h1", "h2"]
        members = (await nova.get(f"os-server-groups/{apart}")).body["server_group"]["members"]
        assert len(members) == 5


async def test_a_resize_holds_both_flavors_until_confirmed_or_reverted(
    nova: Nova, image_id: str, hosts: Hosts
) -> None:
    async def used() -> tuple[int, int, int]:
        h1 = (await hypervisors(nova))["h1"]
        return h1["running_vms"], h1["vcpus_used"], h1["memory_mb_used"]

    async def act(server_id: str, body: dict[str, Any], status: str) -> None:
        reply = await nova.post(f"servers/{server_id}/action", body)
        assert reply.status in (202, 204), reply.body
        await wait_for(nova, server_id, status)

    async with hosts(h1={}):
        server = await boot(nova, image_id, "r")
        await wait_for(nova, server, "ACTIVE")
        assert await used() == (1, 1, 128)
        await act(server, {"resize": {"flavorRef": "2"}}, "VERIFY_RESIZE")
        assert await used() == (1, 2, 128 + 192)
        await act(server, {"confirmResize": None}, "ACTIVE")
        assert await used() == (1, 1, 192)
        await act(server, {"resize": {"flavorRef": "1"}}, "VERIFY_RESIZE")
        await act(server, {"revertResize": None}, "ACTIVE")
        assert await used() == (1, 1, 192)
        assert (await nova.delete(f"servers/{server}")).status == 204
        await wait_for(nova, server, "DELETED")
        assert await used() == (0, 0, 0)


async def test_kumo_worker_runs_a_host_of_its_own(
    nova: Nova, image_id: str, hosts: Hosts, database_url: str, settings: Settings
) -> None:
    env = {
        **os.environ,
        "KUMO_DATABASE_URL": database_url,
        "KUMO_DATA_DIR": str(settings.data_dir),
        "KUMO_LOG_LEVEL": "WARNING",
    }
    worker = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "service", "worker", "--host", "w2"),
        *("--libvirt-uri", "test:///default", "--zone", "far"),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        assert worker.stdout is not None
        async with asyncio.timeout(60):
            while not (line := await worker.stdout.readline()).startswith(b"Compute host w2 is up"):
                assert line, "kumo worker exited before its host was up"
        async with hosts(h1={}):
            services = (await nova.get("os-services")).body["services"]
            assert [(s["host"], s["zone"]) for s in services] == [("w2", "far"), ("h1", "nova")]
            remote = await boot(nova, image_id, "remote", availability_zone="far")
            assert await host_of(nova, remote) == "w2"
            local = await boot(nova, image_id, "local", availability_zone="nova")
            assert await host_of(nova, local) == "h1"
            assert (await nova.delete(f"servers/{remote}")).status == 204
            await wait_for(nova, remote, "DELETED")
    finally:
        worker.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            await worker.communicate()
    assert worker.returncode == 0


async def test_a_requested_host_is_kept_and_disagreeing_ones_fit_none(
    nova: Nova, image_id: str, hosts: Hosts
) -> None:
    """2.74: an admin asks for a host (and its node); if the host, the node and a zone's
    forced host disagree, no host fits."""
    at = nova.at("2.74")
    async with hosts(h1={}, h2={}):
        asked = await boot(at, image_id, "a", networks="auto", hypervisor_hostname="h2")
        assert await host_of(nova, asked) == "h2"
        for name, extra in (
            ("b", {"host": "h1", "hypervisor_hostname": "h2"}),
            ("c", {"host": "h2", "availability_zone": "nova:h1"}),
        ):
            server_id = await boot(at, image_id, name, networks="auto", **extra)
            failed = (await nova.get(f"servers/{server_id}")).body["server"]
            assert (failed["status"], failed["fault"]["message"]) == ("ERROR", NO_VALID_HOST)
