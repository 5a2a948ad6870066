"""Scheduler benchmark: what placing a server adds to a create, against the create as
it was before the scheduler, in one run on one database (no HTTP, no libvirt):

(a) one create at a time: the append of the quota claim and the request (baseline)
    against placement (read the hosts, schedule, append with the claim on the host),
    p50/p99, the two interleaved in rounds so that both see the same machine;
(b) 50 concurrent clients: creates/s (mean of two runs each, alternating), baseline
    against placement (both serialise on the project's quota row; placement also on
    its host's row);
(c) `schedule()` alone over 10, 100 and 1,000 hosts: microseconds per server.

Usage: python -m benchmarks.scheduler [--creates 400]
"""

import argparse
import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import msgspec

from benchmarks.harness import IDS, fresh_database, percentile, progress, server_url
from events.postgres import PostgresEventStore, create_pool
from events.store import NO_STREAM, StreamAppend
from service.auth import AuthContext
from service.compute import events as ev
from service.compute import quota
from service.compute.hosts import HostResources, Share
from service.compute.placement import place
from service.compute.scheduler import Request, schedule
from service.read_models import kumo_store

PROJECT = "bench-project"
FLAVOR = ev.FlavorSnapshot(id="1", name="m1.nano", vcpus=1, ram=128, disk=1)
NEVER = datetime(2026, 1, 1, tzinfo=UTC)
"""The token times of the benchmark's caller (placement reads only its project and roles)."""
CALLER = AuthContext(
    user_id="bench-user",
    user_name="bench",
    user_domain_id="default",
    user_domain_name="Default",
    scope="project",
    project_id=PROJECT,
    issued_at=NEVER,
    expires_at=NEVER,
)

Create = Callable[[PostgresEventStore], Awaitable[None]]


class Figures(msgspec.Struct):
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    baseline_p50_ms: float
    baseline_p99_ms: float
    placed_p50_ms: float
    placed_p99_ms: float
    baseline_per_s: float
    placed_per_s: float
    schedule_us: dict[int, float]


def request_of() -> ev.ServerCreateRequested:
    server_id = str(IDS.new_id())
    return ev.ServerCreateRequested(
        server_id=server_id,
        project_id=PROJECT,
        user_id="bench-user",
        name=server_id,
        flavor=FLAVOR,
        image_id="image",
        availability_zone="nova",
        reservation_id="r-1",
    )


async def baseline(store: PostgresEventStore) -> None:
    """The create's append before the scheduler: quota claim and request."""
    server = request_of()
    claim = await quota.claim(store, PROJECT, server.server_id, 1, FLAVOR.vcpus, FLAVOR.ram)
    await store.append_streams(
        [claim, StreamAppend(f"server-{server.server_id}", [server], NO_STREAM)]
    )


async def placed(store: PostgresEventStore) -> None:
    """The create's append with placement, as the API makes it."""
    server = request_of()
    claim = await quota.claim(store, PROJECT, server.server_id, 1, FLAVOR.vcpus, FLAVOR.ram)

    async def record(appends: list[StreamAppend]) -> None:
        await store.append_streams(appends)

    await place(store, CALLER, record, claim, [server], None)


async def timed(store: PostgresEventStore, create: Create, count: int) -> list[float]:
    times = []
    for _ in range(count):
        start = time.perf_counter()
        await create(store)
        times.append((time.perf_counter() - start) * 1000)
    return times


async def rate(store: PostgresEventStore, create: Create, count: int) -> float:
    """Creates per second from 50 concurrent clients."""
    remaining = iter(range(count))

    async def client() -> None:
        for _ in remaining:
            await create(store)

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(50)))
    return round(count / (time.perf_counter() - start), 1)


def schedule_us(hosts: int, rounds: int = 200) -> float:
    """Microseconds to choose a host among `hosts` (a tenth of them disabled)."""
    every = [
        HostResources(
            host=f"h{i:04}",
            availability_zone="nova",
            enabled=i % 10 != 0,
            vcpus=64,
            memory_mb=262144,
            disk_gb=2000,
            cpu_allocation_ratio=16.0,
            ram_allocation_ratio=1.5,
            disk_allocation_ratio=1.0,
            memory_mb_used=i * 128,
        )
        for i in range(hosts)
    ]
    wanted = Request(share=Share.of(FLAVOR))
    start = time.perf_counter()
    for _ in range(rounds):
        schedule(every, wanted)
    return round((time.perf_counter() - start) / rounds * 1e6, 1)


async def setup(store: PostgresEventStore) -> None:
    """Two hosts that never fill up, and a project whose quota never runs out."""
    for name in ("h1", "h2"):
        registered = ev.HostRegistered(
            host=name,
            uri="test:///default",
            hypervisor_type="QEMU",
            vcpus=10_000,
            memory_mb=10_000_000,
            disk_gb=100_000,
        )
        await store.append(f"host-{name}", [registered])
    limits = {"instances": -1, "cores": -1, "ram": -1}
    await store.append(f"quota-{PROJECT}", [ev.QuotaLimitsSet(project_id=PROJECT, limits=limits)])


async def run(server: str, creates: int) -> Figures:
    load_before = os.getloadavg()
    async with fresh_database(server) as url:
        pool = await create_pool(url, min_size=10, max_size=60)
        try:
            store = kumo_store(pool)
            await setup(store)
            await timed(store, baseline, 20)  # warm up both paths
            await timed(store, placed, 20)
            progress(f"(a) {creates} creates each, one at a time")
            base: list[float] = []
            with_placement: list[float] = []
            for _ in range(max(1, creates // 50)):
                base += await timed(store, baseline, 50)
                with_placement += await timed(store, placed, 50)
            progress(f"(b) {creates} creates each from 50 clients, twice, alternating")
            rates: dict[Create, list[float]] = {baseline: [], placed: []}
            for create in (baseline, placed, baseline, placed):
                rates[create].append(await rate(store, create, creates))
        finally:
            await pool.close()
    progress("(c) schedule() alone")
    return Figures(
        load_before=load_before,
        load_after=os.getloadavg(),
        baseline_p50_ms=round(percentile(base, 50), 2),
        baseline_p99_ms=round(percentile(base, 99), 2),
        placed_p50_ms=round(percentile(with_placement, 50), 2),
        placed_p99_ms=round(percentile(with_placement, 99), 2),
        baseline_per_s=round(sum(rates[baseline]) / 2, 1),
        placed_per_s=round(sum(rates[placed]) / 2, 1),
        schedule_us={n: schedule_us(n) for n in (10, 100, 1000)},
    )


def report(f: Figures) -> None:
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    print(f"\nKumo scheduler benchmark, {when}; load {f.load_before} -> {f.load_after}")
    print(f"(a) create append p50/p99: baseline {f.baseline_p50_ms}/{f.baseline_p99_ms} ms,")
    print(f"    with placement {f.placed_p50_ms}/{f.placed_p99_ms} ms")
    print(f"(b) 50 clients: baseline {f.baseline_per_s}/s, with placement {f.placed_per_s}/s")
    for hosts, us in f.schedule_us.items():
        print(f"(c) schedule() over {hosts} hosts: {us} us")
    print(msgspec.json.encode(f).decode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--creates", type=int, default=400)
    args = parser.parse_args()
    server, started = server_url()
    try:
        report(asyncio.run(run(server, args.creates)))
    finally:
        if started is not None:
            started.stop()


if __name__ == "__main__":
    main()
