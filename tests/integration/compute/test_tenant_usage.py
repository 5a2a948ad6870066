"""os-simple-tenant-usage: server hours and vCPU, RAM and disk hours per project over a
period, from the servers' launches and deletions in the log; all projects for admins,
one for its readers, and the usage audit log; Tempest's schemas."""

from datetime import UTC, datetime, timedelta

import pytest

from events.postgres import PostgresEventStore
from service.compute import events as ev
from tests.integration.compute.conftest import Nova, Person, add_host, add_server

NOW = datetime.now(UTC)
FORM = "%Y-%m-%dT%H:%M:%S.%f"
START, END = (NOW - timedelta(days=1)).strftime(FORM), (NOW + timedelta(days=1)).strftime(FORM)
DAY = f"start={START}&end={END}"


async def launched(
    store: PostgresEventStore, person: Person, server_id: str, hours_ago: float
) -> None:
    """A server of `person`'s (1 vCPU, 128 MB, 1 GB) that became ACTIVE `hours_ago`."""
    await add_server(store, person, server_id)
    at = datetime.now(UTC) - timedelta(hours=hours_ago)
    await store.append(
        f"server-{server_id}",
        [
            ev.ServerScheduled(server_id=server_id, host="h1", node="h1"),
            ev.ServerActive(server_id=server_id, host="h1", launched_at=at),
        ],
    )


@pytest.fixture
async def servers(store: PostgresEventStore, alice: Person, bob: Person) -> None:
    await launched(store, alice, "00000000-0000-4000-8000-00000000000a", 2)
    await launched(store, alice, "00000000-0000-4000-8000-00000000000b", 3)
    await store.append(
        "server-00000000-0000-4000-8000-00000000000b",
        [ev.ServerDeleted(server_id="00000000-0000-4000-8000-00000000000b")],
    )
    await launched(store, bob, "00000000-0000-4000-8000-00000000000c", 1)
    await add_server(store, bob, "00000000-0000-4000-8000-00000000000d")  # never launched


async def test_admins_list_every_projects_usage(
    servers: None, nova_admin: Nova, as_alice: Nova, alice: Person, bob: Person
) -> None:
    listed = (await nova_admin.get(f"os-simple-tenant-usage?{DAY}&detailed=1")).check(
        "tenant_usages.list_tenant_usage"
    )["tenant_usages"]
    by_project = {u["tenant_id"]: u for u in listed}
    assert set(by_project) == {alice.project_id, bob.project_id}
    mine = by_project[alice.project_id]
    assert len(mine) == 8
    assert mine["total_hours"] == pytest.approx(5, abs=0.01)
    assert mine["total_vcpus_usage"] == pytest.approx(5, abs=0.01)
    assert mine["total_memory_mb_usage"] == pytest.approx(5 * 128, abs=1)
    assert mine["total_local_gb_usage"] == pytest.approx(5, abs=0.01)
    states = {s["instance_id"][-1]: s["state"] for s in mine["server_usages"]}
    assert states == {"a": "active", "b": "terminated"}
    brief = (await nova_admin.get(f"os-simple-tenant-usage?{DAY}")).body["tenant_usages"]
    assert all("server_usages" not in u for u in brief) and len(brief) == 2
    assert (await as_alice.get(f"os-simple-tenant-usage?{DAY}")).status == 403


async def test_a_projects_readers_see_its_usage(
    servers: None, as_rita: Nova, as_alice: Nova, as_bob: Nova, alice: Person, nova_admin: Nova
) -> None:
    path = f"os-simple-tenant-usage/{alice.project_id}?{DAY}"
    shown = (await as_rita.get(path)).check("tenant_usages.get_tenant_usage")["tenant_usage"]
    assert len(shown) == 8 and len(shown["server_usages"]) == 2
    own = (await as_alice.get(path)).body["tenant_usage"]["server_usages"]
    assert [s["instance_id"] for s in own] == [s["instance_id"] for s in shown["server_usages"]]
    assert (await as_bob.get(path)).status == 403
    # the last hour only: an hour of each (the deleted one ran until just now)
    start = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
    recent = (await as_rita.get(f"os-simple-tenant-usage/{alice.project_id}?start={start}")).body
    assert recent["tenant_usage"]["total_hours"] == pytest.approx(2, abs=0.01)
    nobody = (await nova_admin.get(f"os-simple-tenant-usage/nobody?{DAY}")).body
    assert nobody == {"tenant_usage": {}}


async def test_invalid_periods_are_refused(nova_admin: Nova) -> None:
    for query in (
        "start=yesterday",
        "end=2024-13-01T00:00:00",
        "start=2024-02-01T00:00:00&end=2024-01-01T00:00:00",
    ):
        reply = await nova_admin.get(f"os-simple-tenant-usage?{query}")
        assert reply.status == 400, query
        assert "badRequest" in reply.body


async def test_the_usage_audit_log_shows_no_host_ran_it(
    nova_admin: Nova, as_alice: Nova, store: PostgresEventStore
) -> None:
    """Kumo runs no periodic usage audit: every host is one that has not run it, for the
    last month completed before the time asked (now by default)."""
    await add_host(store, "cn1")
    listed = (await nova_admin.get("os-instance_usage_audit_log")).check(
        "instance_usage_audit_logs.list_instance_usage_audit_log"
    )["instance_usage_audit_logs"]
    assert (listed["num_hosts"], listed["hosts_not_run"], listed["log"]) == (1, ["cn1"], {})
    shown = (await nova_admin.get("os-instance_usage_audit_log/2024-01-15%2010:00:00")).check(
        "instance_usage_audit_logs.get_instance_usage_audit_log"
    )["instance_usage_audit_log"]
    assert (shown["period_beginning"], shown["period_ending"]) == (
        "2023-12-01 00:00:00",
        "2024-01-01 00:00:00",
    )
    assert (await nova_admin.get("os-instance_usage_audit_log/invalid_time")).status == 400
    assert (await as_alice.get("os-instance_usage_audit_log")).status == 403
    assert (await as_alice.get("os-instance_usage_audit_log/2024-01-15%2010:00:00")).status == 403
