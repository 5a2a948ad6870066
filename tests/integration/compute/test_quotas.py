"""Quota sets, limits and claims: Nova's defaults and keys, admin-only updates, usage in
detail and limits, and exact claims under concurrency."""

import asyncio

import pytest

from events.postgres import PostgresEventStore
from service.compute import events as ev
from service.compute import quota
from tests.integration.compute.conftest import Nova
from tests.integration.identity.conftest import Person


async def test_show_and_defaults(as_alice: Nova, as_rita: Nova, alice: Person) -> None:
    path = f"os-quota-sets/{alice.project_id}"
    shown = (await as_alice.get(path)).check("quotas.get_quota_set")["quota_set"]
    assert shown == {"id": alice.project_id} | quota.DEFAULTS
    defaults = (await as_alice.get(f"{path}/defaults")).check("quotas.get_quota_set")
    assert defaults["quota_set"] == shown
    assert (await as_rita.get(f"{path}?user_id={alice.user_id}")).status == 200
    later = (await as_alice.at("2.36").get(path)).check("quotas.get_quota_set", "v2_36")
    assert "floating_ips" not in later["quota_set"]
    assert "injected_files" not in (await as_alice.at("2.57").get(path)).body["quota_set"]


async def test_other_projects_quotas_are_forbidden(as_bob: Nova, alice: Person) -> None:
    assert (await as_bob.get(f"os-quota-sets/{alice.project_id}")).status == 403
    assert (await as_bob.get(f"os-quota-sets/{alice.project_id}/detail")).status == 403


async def test_admin_updates_quotas(
    nova_admin: Nova, as_alice: Nova, store: PostgresEventStore, alice: Person
) -> None:
    path = f"os-quota-sets/{alice.project_id}"
    updated = (await nova_admin.put(path, {"quota_set": {"instances": 3, "cores": -1}})).check(
        "quotas.update_quota_set"
    )
    assert updated["quota_set"]["instances"] == 3 and updated["quota_set"]["cores"] == -1
    assert (await as_alice.get(path)).body["quota_set"]["instances"] == 3
    assert (await as_alice.put(path, {"quota_set": {"instances": 50}})).status == 403
    for bad in ({"colour": 1}, {"instances": -2}, {"instances": True}):
        assert (await nova_admin.put(path, {"quota_set": bad})).status == 400, bad
    await store.append_streams([await quota.claim(store, alice.project_id, "s1", 2, 2, 512)])
    assert (await nova_admin.put(path, {"quota_set": {"instances": 1}})).status == 400
    forced = {"quota_set": {"instances": 1, "force": True}}
    assert (await nova_admin.put(path, forced)).status == 200


async def test_limits_may_be_given_as_strings_and_deleted(
    nova_admin: Nova, as_alice: Nova, alice: Person
) -> None:
    path = f"os-quota-sets/{alice.project_id}"
    updated = (await nova_admin.put(path, {"quota_set": {"ram": "5120", "cores": "-1"}})).check(
        "quotas.update_quota_set"
    )["quota_set"]
    assert (updated["ram"], updated["cores"]) == (5120, -1)
    for bad in ("x", "1.5", "-2", ""):
        assert (await nova_admin.put(path, {"quota_set": {"ram": bad}})).status == 400, bad
    forced = {"quota_set": {"ram": "1", "force": "True"}}
    assert (await nova_admin.put(path, forced)).status == 200
    assert (await as_alice.delete(path)).status == 403
    assert (await nova_admin.delete(path)).status == 202
    assert (await as_alice.get(path)).body["quota_set"] == {"id": alice.project_id} | quota.DEFAULTS


async def test_the_default_quota_class_sets_every_projects_defaults(
    nova_admin: Nova, as_alice: Nova, alice: Person
) -> None:
    shown = (await nova_admin.get("os-quota-class-sets/default")).check(
        "quota_classes.get_quota_class_set"
    )["quota_class_set"]
    assert shown["id"] == "default" and shown["instances"] == 10
    assert "server_groups" not in shown
    assert (await as_alice.get("os-quota-class-sets/default")).status == 403
    change = {"quota_class_set": {"instances": "20", "cores": 30}}
    assert (await as_alice.put("os-quota-class-sets/default", change)).status == 403
    updated = (await nova_admin.put("os-quota-class-sets/default", change)).check(
        "quota_classes.update_quota_class_set"
    )["quota_class_set"]
    assert (updated["instances"], updated["cores"]) == (20, 30)
    path = f"os-quota-sets/{alice.project_id}"
    assert (await as_alice.get(path)).body["quota_set"]["instances"] == 20
    assert (await as_alice.get(f"{path}/defaults")).body["quota_set"]["cores"] == 30
    await nova_admin.put(path, {"quota_set": {"instances": 5}})
    assert (await as_alice.get(path)).body["quota_set"]["instances"] == 5
    bad = {"quota_class_set": {"instances": "many"}}
    assert (await nova_admin.put("os-quota-class-sets/default", bad)).status == 400
    later = (await nova_admin.at("2.50").get("os-quota-class-sets/default")).check(
        "quota_classes.get_quota_class_set", "v2_50"
    )["quota_class_set"]
    assert later["server_groups"] == 10 and "floating_ips" not in later


async def test_detail_and_limits_show_usage(
    as_alice: Nova, nova_admin: Nova, as_bob: Nova, store: PostgresEventStore, alice: Person
) -> None:
    await store.append_streams([await quota.claim(store, alice.project_id, "s1", 1, 2, 256)])
    await as_alice.post("os-keypairs", {"keypair": {"name": "k"}})
    detail = (await as_alice.get(f"os-quota-sets/{alice.project_id}/detail")).check(
        "quotas.get_quota_set_details"
    )["quota_set"]
    assert detail["cores"] == {"limit": 20, "in_use": 2, "reserved": 0}
    assert detail["key_pairs"]["in_use"] == 1
    limits = (await as_alice.get("limits")).check("limits.get_limit")["limits"]
    assert limits["rate"] == []
    absolute = limits["absolute"]
    assert (absolute["maxTotalInstances"], absolute["totalInstancesUsed"]) == (10, 1)
    assert (absolute["totalCoresUsed"], absolute["totalRAMUsed"]) == (2, 256)
    later = (await as_alice.at("2.36").get("limits")).check("limits.get_limit", "v2_36")
    assert "maxSecurityGroups" not in later["limits"]["absolute"]
    latest = (await as_alice.at("2.57").get("limits")).check("limits.get_limit", "v2_57")
    assert "maxPersonality" not in latest["limits"]["absolute"]
    other = f"limits?tenant_id={alice.project_id}"
    assert (await as_bob.get(other)).status == 403
    admin_view = (await nova_admin.get(other)).body["limits"]["absolute"]
    assert admin_view["totalInstancesUsed"] == 1


async def test_claims_are_refused_over_quota(store: PostgresEventStore) -> None:
    for server in range(10):
        await store.append_streams([await quota.claim(store, "p", f"s{server}", 1, 1, 64)])
    with pytest.raises(quota.OverQuota) as refused:
        await quota.claim(store, "p", "s10", 1, 1, 64)
    assert refused.value.code == 403
    assert refused.value.message == (
        "Quota exceeded for instances: Requested 1, but already used 10 of 10 instances"
    )
    with pytest.raises(quota.OverQuota) as both:
        await quota.claim(store, "q", ["a", "b"], 2, 40, 1024)
    assert both.value.message == (
        "Quota exceeded for cores: Requested 40, but already used 0 of 20 cores"
    )


async def test_claims_of_one_request_are_shared_out(store: PostgresEventStore) -> None:
    append = await quota.claim(store, "p", ["a", "b"], 2, 4, 1024)
    assert [(e.server_id, e.cores, e.ram) for e in append.events] == [  # type: ignore[attr-defined]
        ("a", 2, 512), ("b", 2, 512),
    ]  # fmt: skip


async def test_racing_claims_let_exactly_the_allowed_in(store: PostgresEventStore) -> None:
    """20 claims racing for 10 instances, as server creates do: the usage model refuses
    the ones past the limit inside their appends; exactly 10 get in."""

    async def create(server_id: str) -> bool:
        try:
            await store.append_streams([await quota.claim(store, "p", server_id, 1, 1, 64)])
        except quota.OverQuota:
            return False
        return True

    results = await asyncio.gather(*(create(f"s{i}") for i in range(20)))
    assert results.count(True) == 10
    used = await store.pool.fetchrow("SELECT * FROM rm_quota_usage WHERE project_id = 'p'")
    assert (used["instances"], used["cores"]) == (10, 10)
    # The limits an admin set hold in the appends too.
    limits = ev.QuotaLimitsSet(project_id="p", limits={"instances": 13, "cores": 100})
    await store.append("quota-limits-p", [limits])
    more = await asyncio.gather(*(create(f"t{i}") for i in range(8)))
    assert more.count(True) == 3
