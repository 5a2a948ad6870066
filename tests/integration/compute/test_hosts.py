"""The cloud's shape: availability zones, hypervisors (with what servers use of them) and
compute services, for admins (zones for everyone)."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

from events.postgres import PostgresEventStore
from service.compute import events as ev
from service.compute.worker import boot_time
from tests.integration.compute.conftest import Nova, add_host, add_server
from tests.integration.identity.conftest import Person

NOVA_ZONE = {"zoneName": "nova", "zoneState": {"available": True}, "hosts": None}


async def test_zones(as_alice: Nova, nova_admin: Nova, store: PostgresEventStore) -> None:
    empty = (await as_alice.get("os-availability-zone")).check(
        "availability_zone.list_availability_zone_list"
    )
    assert empty == {"availabilityZoneInfo": [NOVA_ZONE]}
    await add_host(store, "cn1")
    await add_host(store, "cn2", zone="rack2")
    listed = (await as_alice.get("os-availability-zone")).body["availabilityZoneInfo"]
    assert [z["zoneName"] for z in listed] == ["nova", "rack2"]
    assert listed[0] == NOVA_ZONE
    detail = (await nova_admin.get("os-availability-zone/detail")).check(
        "availability_zone.list_availability_zone_list_detail"
    )
    hosts = detail["availabilityZoneInfo"][0]["hosts"]
    assert list(hosts) == ["cn1"]
    # enabled (active), but no worker runs for it here, so not available (Nova's alive)
    service = hosts["cn1"]["nova-compute"]
    assert (service["active"], service["available"]) == (True, False)
    assert (await as_alice.get("os-availability-zone/detail")).status == 403


async def test_hypervisors(
    nova_admin: Nova, as_alice: Nova, alice: Person, store: PostgresEventStore
) -> None:
    await add_host(store, "cn1")
    await add_host(store, "cn2")
    await add_server(store, alice, "s1", host="cn1")
    await add_server(store, alice, "s2", host="cn1")
    listed = (await nova_admin.get("os-hypervisors")).check("hypervisors.list_search_hypervisors")
    assert [(h["id"], h["hypervisor_hostname"]) for h in listed["hypervisors"]] == [
        (1, "cn1"), (2, "cn2"),
    ]  # fmt: skip
    detail = (await nova_admin.get("os-hypervisors/detail")).check(
        "hypervisors.list_hypervisors_detail"
    )["hypervisors"][0]
    assert (detail["running_vms"], detail["vcpus_used"], detail["memory_mb_used"]) == (2, 2, 256)
    assert detail["free_ram_mb"] == 16384 - 256
    shown = (await nova_admin.get("os-hypervisors/1")).check("hypervisors.get_hypervisor")
    assert shown["hypervisor"] == detail
    later = (await nova_admin.at("2.28").get("os-hypervisors/1")).check(
        "hypervisors.get_hypervisor", "v2_28"
    )
    assert later["hypervisor"]["cpu_info"] == {}
    assert (await nova_admin.get("os-hypervisors/9")).status == 404
    statistics = (await nova_admin.get("os-hypervisors/statistics")).check(
        "hypervisors.get_hypervisor_statistics"
    )["hypervisor_statistics"]
    assert (statistics["count"], statistics["vcpus"], statistics["running_vms"]) == (2, 16, 2)
    found = (await nova_admin.get("os-hypervisors/cn2/search")).check(
        "hypervisors.list_search_hypervisors"
    )
    assert [h["hypervisor_hostname"] for h in found["hypervisors"]] == ["cn2"]
    assert (await nova_admin.get("os-hypervisors/nothing/search")).status == 404
    servers = (await nova_admin.get("os-hypervisors/cn/servers")).check(
        "hypervisors.get_hypervisors_servers"
    )["hypervisors"]
    assert [s["uuid"] for s in servers[0]["servers"]] == ["s1", "s2"]
    assert "servers" not in servers[1]
    for path in ("", "/detail", "/1", "/statistics", "/cn1/search"):
        assert (await as_alice.get(f"os-hypervisors{path}")).status == 403, path


async def test_services(nova_admin: Nova, as_alice: Nova, store: PostgresEventStore) -> None:
    await add_host(store, "cn1")
    listed = (await nova_admin.get("os-services")).check("services.list_services")
    (service,) = listed["services"]
    assert (service["id"], service["binary"], service["status"]) == (1, "nova-compute", "enabled")
    body = {"host": "cn1", "binary": "nova-compute", "disabled_reason": "maintenance"}
    disabled = (await nova_admin.put("os-services/disable-log-reason", body)).check(
        "services.disable_log_reason"
    )
    assert disabled["service"]["status"] == "disabled"
    later = (await nova_admin.at("2.11").get("os-services?host=cn1")).check(
        "services.list_services", "v2_11"
    )
    assert later["services"][0]["disabled_reason"] == "maintenance"
    zones = (await as_alice.get("os-availability-zone")).body["availabilityZoneInfo"]
    assert zones[0]["zoneState"] == {"available": False}
    enable = {"host": "cn1", "binary": "nova-compute"}
    enabled = (await nova_admin.put("os-services/enable", enable)).check(
        "services.enable_disable_service"
    )
    assert enabled["service"]["status"] == "enabled"
    assert (await nova_admin.get("os-services?binary=nova-scheduler")).body == {"services": []}
    assert (await nova_admin.put("os-services/enable", enable | {"host": "x"})).status == 404
    assert (await as_alice.get("os-services")).status == 403
    assert (await as_alice.put("os-services/enable", enable)).status == 403


async def test_os_hosts(
    nova_admin: Nova, as_alice: Nova, alice: Person, bob: Person, store: PostgresEventStore
) -> None:
    """Nova's os-hosts (up to 2.42): the compute hosts by zone, what one holds (in all, now,
    by its servers' flavors and by project), enabling it; no maintenance or power."""
    await add_host(store, "cn1")
    await add_host(store, "cn2", zone="rack2")
    await add_server(store, alice, "s1", host="cn1")
    await add_server(store, bob, "s2", host="cn1")
    listed = (await nova_admin.get("os-hosts")).check("hosts.list_hosts")["hosts"]
    assert listed == [
        {"host_name": "cn1", "service": "compute", "zone": "nova"},
        {"host_name": "cn2", "service": "compute", "zone": "rack2"},
    ]
    assert (await nova_admin.get("os-hosts?zone=")).body["hosts"] == listed
    assert [
        h["host_name"] for h in (await nova_admin.get("os-hosts?zone=rack2")).body["hosts"]
    ] == ["cn2"]
    assert (await nova_admin.get("os-hosts?zone=xxx")).body["hosts"] == []
    shown = (await nova_admin.get("os-hosts/cn1")).check("hosts.get_host_detail")["host"]
    lines = {r["resource"]["project"]: r["resource"] for r in shown}
    assert (lines["(total)"]["cpu"], lines["(total)"]["memory_mb"]) == (8, 16384)
    assert (lines["(used_now)"]["cpu"], lines["(used_max)"]["memory_mb"]) == (2, 256)
    assert lines[alice.project_id] == {
        "host": "cn1",
        "project": alice.project_id,
        "cpu": 1,
        "memory_mb": 128,
        "disk_gb": 1,
    }
    disable = {"status": "disable"}
    updated = (await nova_admin.put("os-hosts/cn2", disable)).check("hosts.update_host")
    assert updated == {"host": "cn2", "status": "disabled"}
    services = (await nova_admin.get("os-services?host=cn2")).body["services"]
    assert services[0]["status"] == "disabled"
    for path, status in (
        ("os-hosts/nope", 404),
        ("os-hosts/cn1/startup", 501),
        ("os-hosts/cn1/shutdown", 501),
        ("os-hosts/nope/reboot", 404),
    ):
        assert (await nova_admin.get(path)).status == status, path
    for body, status in (
        ({}, 400),
        ({"status": "invalid"}, 400),
        ({"maintenance_mode": "enable"}, 501),
    ):
        assert (await nova_admin.put("os-hosts/cn1", body)).status == status, body
    assert (await nova_admin.put("os-hosts/nope", disable)).status == 404
    for path in ("os-hosts", "os-hosts/cn1", "os-hosts/cn1/reboot"):
        assert (await as_alice.get(path)).status == 403, path
    assert (await as_alice.put("os-hosts/cn1", disable)).status == 403
    assert (await nova_admin.at("2.43").get("os-hosts")).status == 404


async def test_hypervisor_uptime(
    nova_admin: Nova, as_alice: Nova, store: PostgresEventStore, tmp_path: Path
) -> None:
    """The host's uptime from the boot time its worker registered (/proc/stat's btime)."""
    (tmp_path / "stat").write_text("cpu  1 2 3\nbtime 1700000000\nprocesses 5\n")
    booted = boot_time(tmp_path / "stat")
    assert booted == datetime.fromtimestamp(1700000000, UTC)
    assert boot_time(tmp_path / "missing") is None
    await add_host(store, "cn1")
    two_days_ago = datetime.now(UTC) - timedelta(days=2, minutes=5)
    registered = ev.HostRegistered(
        host="cn2",
        uri="test:///default",
        hypervisor_type="QEMU",
        vcpus=8,
        memory_mb=16384,
        disk_gb=100,
        booted_at=two_days_ago,
    )
    await store.append("host-cn2", [registered])
    shown = (await nova_admin.get("os-hypervisors/2/uptime")).check(
        "hypervisors.get_hypervisor_uptime"
    )["hypervisor"]
    assert shown["hypervisor_hostname"] == "cn2" and " up 2 days,  0:05" in shown["uptime"]
    assert (await nova_admin.get("os-hypervisors/1/uptime")).status == 501
    assert (await nova_admin.get("os-hypervisors/9/uptime")).status == 404
    assert (await as_alice.get("os-hypervisors/2/uptime")).status == 403
