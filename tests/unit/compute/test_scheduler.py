"""The scheduler's filters, weighers and choices over hosts given as data."""

import msgspec
import pytest

from service.compute import scheduler
from service.compute.hosts import HostResources, Share
from service.compute.scheduler import Request, best, passing, schedule

NANO = Share(vcpus=1, memory_mb=128, disk_gb=1)


def host(name: str, **fields: object) -> HostResources:
    """A host of 4 vCPUs, 1024 MiB and 10 GB, no overcommit unless asked."""
    defaults: dict[str, object] = {
        "host": name,
        "availability_zone": "nova",
        "enabled": True,
        "vcpus": 4,
        "memory_mb": 1024,
        "disk_gb": 10,
        "cpu_allocation_ratio": 1.0,
        "ram_allocation_ratio": 1.0,
        "disk_allocation_ratio": 1.0,
    }
    return msgspec.convert(defaults | fields, HostResources)


def ask(**fields: object) -> Request:
    return msgspec.convert({"share": msgspec.to_builtins(NANO)} | fields, Request)


def names(hosts: list[HostResources]) -> list[str]:
    return [h.host for h in hosts]


def test_free_is_capacity_times_ratio_minus_use() -> None:
    h = host(
        "a",
        cpu_allocation_ratio=16.0,
        ram_allocation_ratio=1.5,
        vcpus_used=10,
        memory_mb_used=512,
        local_gb_used=3,
    )
    assert h.free == Share(vcpus=4 * 16 - 10, memory_mb=1536 - 512, disk_gb=7)
    assert h.taking(NANO).free == Share(vcpus=53, memory_mb=896, disk_gb=6)
    assert h.taking(NANO).running_vms == 1


def test_a_disabled_host_is_filtered_out() -> None:
    assert names(passing([host("a", enabled=False), host("b")], ask())) == ["b"]
    assert not scheduler.enabled(host("a", enabled=False), ask())


def test_a_host_whose_worker_is_down_is_filtered_out() -> None:
    assert names(passing([host("a", up=False), host("b")], ask())) == ["b"]


def test_the_zone_filter_keeps_the_zone_asked_for_and_any_without_one() -> None:
    hosts = [host("a"), host("b", availability_zone="rack2")]
    assert names(passing(hosts, ask())) == ["a", "b"]
    assert names(passing(hosts, ask(zone="rack2"))) == ["b"]
    assert names(passing(hosts, ask(zone="nova"))) == ["a"]
    assert passing(hosts, ask(zone="elsewhere")) == []


def test_a_forced_host_is_the_only_candidate() -> None:
    hosts = [host("a"), host("b")]
    assert names(passing(hosts, ask(host="b"))) == ["b"]
    assert passing(hosts, ask(zone="nova", host="missing")) == []


@pytest.mark.parametrize(
    ("used", "fits"),
    [
        ({"vcpus_used": 3}, True),
        ({"vcpus_used": 4}, False),
        ({"memory_mb_used": 1024 - 128}, True),
        ({"memory_mb_used": 1024 - 127}, False),
        ({"local_gb_used": 9}, True),
        ({"local_gb_used": 10}, False),
    ],
)
def test_the_resource_filters_need_room_for_the_whole_flavor(
    used: dict[str, int], fits: bool
) -> None:
    assert scheduler.has_room(host("a", **used), ask()) is fits


def test_allocation_ratios_let_a_host_overcommit() -> None:
    full = host("a", vcpus_used=4, memory_mb_used=1024, local_gb_used=10)
    assert not scheduler.has_room(full, ask())
    overcommitted = msgspec.structs.replace(
        full, cpu_allocation_ratio=2.0, ram_allocation_ratio=1.5, disk_allocation_ratio=2.0
    )
    assert scheduler.has_room(overcommitted, ask())


def test_affinity_keeps_the_groups_host_once_it_has_one() -> None:
    hosts = [host("a"), host("b")]
    assert names(passing(hosts, ask(group_policy="affinity"))) == ["a", "b"]
    assert names(passing(hosts, ask(group_policy="affinity", group_hosts=("b",)))) == ["b"]


def test_anti_affinity_avoids_every_host_of_the_group() -> None:
    hosts = [host("a"), host("b"), host("c")]
    wanted = ask(group_policy="anti-affinity", group_hosts=("a", "c"))
    assert names(passing(hosts, wanted)) == ["b"]
    assert passing(hosts[::2], wanted) == []


def test_anti_affinity_rules_let_a_host_take_up_to_max_server_per_host() -> None:
    hosts = [host("a"), host("b")]
    wanted = ask(group_policy="anti-affinity", group_hosts=("a", "a", "b"), max_per_host=2)
    assert names(passing(hosts, wanted)) == ["b"]
    spread = schedule(hosts, msgspec.structs.replace(wanted, group_hosts=(), count=4))
    assert spread == ["a", "b", "a", "b"]
    assert schedule(hosts, msgspec.structs.replace(wanted, count=2)) is None


def test_soft_policies_filter_nothing() -> None:
    hosts = [host("a"), host("b")]
    for policy in ("soft-affinity", "soft-anti-affinity"):
        assert names(passing(hosts, ask(group_policy=policy, group_hosts=("a",)))) == ["a", "b"]


def test_the_least_loaded_host_wins() -> None:
    busy, idle = host("a", memory_mb_used=512, vcpus_used=2), host("b")
    assert best([busy, idle], ask()).host == "b"
    assert best([idle, busy], ask()).host == "b"


def test_weights_are_normalised_so_no_resource_dominates_by_its_unit() -> None:
    # a has 512 MiB more free RAM, b has 3 more free vCPUs and 9 GB more disk: two of
    # three resources favour b, whatever their units.
    a = host("a", vcpus_used=3, local_gb_used=9)
    b = host("b", memory_mb_used=512)
    assert best([a, b], ask()).host == "b"


def test_ties_go_to_the_first_host_by_name() -> None:
    assert best([host("a"), host("b")], ask()).host == "a"
    assert schedule([host("b"), host("a")], ask()) == ["a"]


def test_soft_affinity_prefers_the_groups_host_and_soft_anti_affinity_avoids_it() -> None:
    hosts = [host("a"), host("b")]
    assert best(hosts, ask()).host == "a"
    near = ask(group_policy="soft-affinity", group_hosts=("b",))
    assert best(hosts, near).host == "b"
    far = ask(group_policy="soft-anti-affinity", group_hosts=("a",))
    assert best(hosts, far).host == "b"
    # a preference, weighed like one resource (Nova's multiplier 1.0): it does not
    # outweigh a host that is less loaded in every resource
    loaded = host("b", memory_mb_used=128, vcpus_used=1, local_gb_used=1)
    assert best([host("a"), loaded], near).host == "a"


def test_servers_of_one_request_spread_over_equal_hosts() -> None:
    assert schedule([host("a"), host("b")], ask(count=4)) == ["a", "b", "a", "b"]


def test_each_choice_counts_against_the_next() -> None:
    small = host("a", memory_mb=1024, memory_mb_used=1024 - 128)
    roomy = host("b", memory_mb=256, memory_mb_used=0)
    # b takes two nano servers, a one: the third goes where room is left
    assert schedule([small, roomy], ask(count=3)) == ["b", "a", "b"]
    assert schedule([small, roomy], ask(count=4)) is None


def test_affinity_puts_every_server_of_a_request_on_one_host() -> None:
    chosen = schedule([host("a"), host("b")], ask(count=3, group_policy="affinity"))
    assert chosen == ["a", "a", "a"]


def test_anti_affinity_fails_the_request_when_hosts_run_out() -> None:
    hosts = [host("a"), host("b")]
    assert schedule(hosts, ask(count=2, group_policy="anti-affinity")) == ["a", "b"]
    assert schedule(hosts, ask(count=3, group_policy="anti-affinity")) is None
    assert schedule(hosts, ask(group_policy="anti-affinity", group_hosts=("a", "b"))) is None


def test_no_host_at_all_is_no_valid_host() -> None:
    assert schedule([], ask()) is None
    assert scheduler.NO_VALID_HOST.startswith("No valid host was found. ")
