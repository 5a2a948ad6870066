"""Choosing hosts for the servers of one request, as Nova's filter scheduler does: drop
the hosts that cannot take a server (filters), then take the best of the rest (weighers).
Pure: it decides from the host-resource read model (service/compute/hosts.py) passed in,
and the claim in the append that records the choice makes it exact under concurrency.

Filters: the compute service is enabled and its worker runs (up); the host is in the
requested availability zone (and is the requested host, for `zone:host`); its free
vCPUs, RAM and disk (capacity times allocation ratio, minus what is held) take the
flavor; the server group's hard policy holds (`affinity`: the group's host, if it has
one; `anti-affinity`: a host with fewer of the group's servers than its rules'
`max_server_per_host`, by default none). Weighers, each normalised over the
hosts left to 0..1 and added up as Nova does: free RAM, free vCPUs and free disk (the
least loaded host wins), and for the soft policies the number of the group's servers on
the host (more for `soft-affinity`, fewer for `soft-anti-affinity`). Ties go to the
host whose name sorts first.
"""

from collections.abc import Callable, Sequence

import msgspec

from service.compute.hosts import HostResources, Share

NO_VALID_HOST = "No valid host was found. There are not enough hosts available."
"""The fault message of a server no host could take (Nova's NoValidHost)."""


class Request(msgspec.Struct, frozen=True, kw_only=True):
    """What the servers of one create request need of their hosts."""

    share: Share
    count: int = 1
    zone: str | None = None
    host: str | None = None
    group_policy: str | None = None
    group_hosts: tuple[str, ...] = ()
    """The hosts of the group's servers already placed, once per server."""
    max_per_host: int = 1
    """How many of an anti-affinity group's servers a host may have (its rules, 2.64)."""


Filter = Callable[[HostResources, Request], bool]


def enabled(host: HostResources, request: Request) -> bool:
    return host.enabled


def up(host: HostResources, request: Request) -> bool:
    return host.up


def in_zone(host: HostResources, request: Request) -> bool:
    return request.zone in (None, host.availability_zone) and request.host in (None, host.host)


def has_room(host: HostResources, request: Request) -> bool:
    return host.fits(request.share)


def group_policy(host: HostResources, request: Request) -> bool:
    if request.group_policy == "affinity" and request.group_hosts:
        return host.host in request.group_hosts
    if request.group_policy == "anti-affinity":
        return request.group_hosts.count(host.host) < request.max_per_host
    return True


FILTERS: tuple[Filter, ...] = (enabled, up, in_zone, has_room, group_policy)

Weigher = Callable[[HostResources, Share, Request], float]
"""A weight of a host, given what is free on it."""


def free_ram(host: HostResources, free: Share, request: Request) -> float:
    return free.memory_mb


def free_vcpus(host: HostResources, free: Share, request: Request) -> float:
    return free.vcpus


def free_disk(host: HostResources, free: Share, request: Request) -> float:
    return free.disk_gb


def group_members(host: HostResources, free: Share, request: Request) -> float:
    """The group's servers on the host: wanted near for soft-affinity, far for
    soft-anti-affinity, indifferent otherwise."""
    if request.group_policy == "soft-affinity":
        return request.group_hosts.count(host.host)
    if request.group_policy == "soft-anti-affinity":
        return -request.group_hosts.count(host.host)
    return 0.0


WEIGHERS: tuple[Weigher, ...] = (free_ram, free_vcpus, free_disk, group_members)


def passing(hosts: Sequence[HostResources], request: Request) -> list[HostResources]:
    """The hosts every filter lets through, in the order given."""
    return [h for h in hosts if all(check(h, request) for check in FILTERS)]


def _normalised(values: list[float]) -> list[float]:
    low, high = min(values), max(values)
    return [0.0 if high == low else (v - low) / (high - low) for v in values]


def best(hosts: Sequence[HostResources], request: Request) -> HostResources:
    """The host with the highest total of normalised weights; of equals, the first."""
    frees = [h.free for h in hosts]
    totals = [0.0] * len(hosts)
    for weigh in WEIGHERS:
        weights = [weigh(h, free, request) for h, free in zip(hosts, frees, strict=True)]
        for i, weight in enumerate(_normalised(weights)):
            totals[i] += weight
    return hosts[max(range(len(hosts)), key=lambda i: (totals[i], -i))]


def schedule(hosts: Sequence[HostResources], request: Request) -> list[str] | None:
    """A host for each of the request's servers, in order, or None when they cannot all
    be placed (Nova fails the whole request then). Each choice counts against the next,
    as if its claim were already made."""
    current = {h.host: h for h in sorted(hosts, key=lambda h: h.host)}
    group_hosts = request.group_hosts
    chosen: list[str] = []
    for _ in range(request.count):
        step = msgspec.structs.replace(request, group_hosts=group_hosts)
        candidates = passing(list(current.values()), step)
        if not candidates:
            return None
        host = best(candidates, step)
        current[host.host] = host.taking(request.share)
        group_hosts = (*group_hosts, host.host) if request.group_policy else group_hosts
        chosen.append(host.host)
    return chosen
