"""Events benchmark parts (b) and (c) (issue 7); benchmarks/events.py runs them after (a),
and `python -m benchmarks.events_live` runs them alone.

(b) 100 SSE subscribers while 1,000 events/s are appended: delivery latency p50/p99
    (from the moment the append returned, committed, to the moment a subscriber read
    the event), and the append rate with and without the subscribers (target: p99 under
    50 ms; the rate within 10 %).
(c) Time travel of a server with 10,000 events of history: latency of
    GET /events/v1/resources/server/{id}?at= (target: under 200 ms).

    .venv/bin/python -m benchmarks.events_live [--parts bc] [--seconds S] [--subscribers N]
        [--processes P]

Both run against one `kumo up` (libvirt's test driver) on a fresh database. The
subscribers stand for clients elsewhere; here they are processes of their own
(benchmarks/sse_subscribers.py: one SSE connection each, as the admin, over 4 processes
unless --processes says otherwise), so that reading 100 streams does not take the
writers' CPU; the writers append `AuthenticationSucceeded` events (a login of a user
that does not exist: its inline read model updates no row) through the service's own
store, with every inline read model, from this process. The append rate is the unpaced
rate of 8 writers appending one event each per call, for (b)'s duration, with the
subscribers and alone (the mean of a phase before they come and one after they leave,
which brackets the machine's drift). The CPU of each party (the writers' process, the
server, the database cluster, the subscribers) an append, in every phase, says who did
the work: with the machine's two cores busy, the rate with the subscribers falls by what
they add to the CPU an append.
Results: a table and one JSON line on stdout; progress on stderr.
"""

import argparse
import asyncio
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable

import aiohttp
import msgspec
import psutil

from benchmarks.compute import PASSWORD, admin_api, cpu_seconds, tree_cpu_seconds
from benchmarks.harness import ROOT, percentile, progress, running_kumo
from events.postgres import PostgresEventStore, create_pool
from events.types import Actor, Metadata
from service.compute import events as compute_events
from service.identity.events import AuthenticationSucceeded
from service.read_models import kumo_store

SUBSCRIBERS = 100
PROCESSES = 4
"""Processes the subscribers are spread over. One would spend about half the CPU a
delivery (it reads more connections a wake-up), but with it the writers' flat-out rate
fell further at load 5-11 (median 76 % of the rate alone against 92-94 % with four):
its bursts of a hundred receives, every read of the hub, seem to hold back the
database's backends."""
RATE = 1000
WRITERS = 8
TYPE = AuthenticationSucceeded.type_name()
HISTORY = 10_000
SETTLE = 3.0
"""Seconds after a paced phase for the last deliveries (in its CPU figures)."""


class Spent(msgspec.Struct, frozen=True):
    """One phase of appends: its rate, and the CPU milliseconds an append of each party
    (the writers' process, the server, the database cluster, the subscribers' processes)
    and of all of them together."""

    rate: float
    writers_ms: float
    server_ms: float
    postgres_ms: float
    subscribers_ms: float
    total_ms: float
    cores: float
    """The parties' CPU seconds over the phase's wall seconds: 2 is the machine's all."""


class StreamFigures(msgspec.Struct, frozen=True):
    """Part (b)."""

    subscribers: int
    seconds: float
    target_rate: int
    paced_rate: float
    appended: int
    delivered: int
    expected: int
    delivery_p50_ms: float
    delivery_p99_ms: float
    delivery_max_ms: float
    append_p99_ms_alone: float
    append_p99_ms_with: float
    append_rate_alone: float
    """The mean of the flat-out rates alone before the subscribers came and after they
    left (the machine's other work drifts; the rate with them is measured between)."""
    append_rates_alone: tuple[float, float]
    append_rate_with: float
    paced: tuple[Spent, Spent]
    """The paced phases alone and with the subscribers, each with SETTLE seconds after it
    (the last deliveries): at one rate, what the subscribers cost each party."""
    server_us_per_delivery: float
    """The server's CPU a delivery over the paced phases: with the subscribers less
    without."""
    subscriber_us_per_delivery: float
    """The subscribers' processes' CPU over the paced phase, a delivery."""
    flat_out: tuple[Spent, Spent, Spent]
    """The flat-out phases alone (before), with the subscribers, and alone (after)."""
    events_per_read: tuple[float, float]
    """Events a subscriber read in one receive, paced and flat out: how many the server
    sent in one write."""


class TimeTravelFigures(msgspec.Struct, frozen=True):
    """Part (c)."""

    history: int
    requests: int
    at_middle_p50_ms: float
    at_middle_p99_ms: float
    now_p50_ms: float
    now_p99_ms: float
    max_ms: float


class Writer:
    """Appends logins, one event per call, and notes when each append returned."""

    def __init__(self, store: PostgresEventStore) -> None:
        self.store = store
        self.committed: dict[int, float] = {}
        self.latencies: list[float] = []
        self.metadata = Metadata(actor=Actor(user_id="bench", roles=("admin",)))

    async def append(self, n: int) -> None:
        event = AuthenticationSucceeded(user_id=f"bench-{n}", method="password")
        start = time.perf_counter()
        result = await self.store.append(f"login-bench{n % 64}", [event], metadata=self.metadata)
        self.committed[result.events[0].position] = time.time()
        self.latencies.append((time.perf_counter() - start) * 1000)

    async def paced(self, rate: int, seconds: float) -> float:
        """Append `rate` events a second for `seconds` (late ones at once); the rate
        achieved."""
        total, start = int(rate * seconds), time.perf_counter()
        queue = iter(range(total))

        async def one() -> None:
            for n in queue:
                delay = start + n / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                await self.append(n)

        await asyncio.gather(*(one() for _ in range(WRITERS)))
        return total / (time.perf_counter() - start)

    async def flat_out(self, seconds: float) -> float:
        """Append as fast as WRITERS writers can for `seconds`; events per second."""
        deadline, count = time.perf_counter() + seconds, 0

        async def one() -> None:
            nonlocal count
            while time.perf_counter() < deadline:
                await self.append(10_000_000 + count)
                count += 1

        start = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(WRITERS)))
        return count / (time.perf_counter() - start)


class Meter:
    """The CPU seconds of the parties to a phase of appends (see `Spent`)."""

    def __init__(self, server: int, postmaster: psutil.Process) -> None:
        self.writers = psutil.Process()
        self.server = psutil.Process(server)
        self.postmaster = postmaster
        self.subscribers: list[psutil.Process] = []

    def read(self) -> tuple[float, float, float, float]:
        return (
            cpu_seconds(self.writers),
            tree_cpu_seconds(self.server),
            tree_cpu_seconds(self.postmaster),
            sum(cpu_seconds(p) for p in self.subscribers),
        )

    async def phase(self, appends: Awaitable[float], settle: float = 0.0) -> Spent:
        """Run `appends` (which returns its rate), wait `settle` seconds more, and what it
        all cost each party an append."""
        before, start = self.read(), time.perf_counter()
        rate = await appends
        appended = rate * (time.perf_counter() - start)
        await asyncio.sleep(settle)
        after, wall = self.read(), time.perf_counter() - start
        spent = [(a - b) * 1000 / max(1.0, appended) for a, b in zip(after, before, strict=True)]
        return Spent(
            rate=round(rate, 1),
            writers_ms=round(spent[0], 3),
            server_ms=round(spent[1], 3),
            postgres_ms=round(spent[2], 3),
            subscribers_ms=round(spent[3], 3),
            total_ms=round(sum(spent), 3),
            cores=round(sum(spent) * appended / 1000 / wall, 2),
        )


async def subscribe(
    url: str, token: str, count: int, spread: int
) -> list[asyncio.subprocess.Process]:
    """`count` connections spread over `spread` processes, all open."""
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "benchmarks.sse_subscribers",
            url,
            token,
            TYPE,
            str(count // spread),
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
        )
        for _ in range(min(spread, count))
    ]
    async with asyncio.timeout(120):
        for process in processes:
            assert process.stdout is not None
            assert (await process.stdout.readline()).strip() == b"ready"
    return processes


class Received(msgspec.Struct):
    """What the subscribers read (see benchmarks/sse_subscribers.py), one list each."""

    received: list[list[tuple[int, float]]]
    """Each event's position and the time it was read."""
    reads: list[list[float]]
    """The time of each receive."""

    def events_per_read(self, start: float, end: float) -> float:
        """Events read per receive between the times `start` and `end`: how many events
        the server sent in one write."""
        events = sum(start <= at < end for seen in self.received for _, at in seen)
        reads = sum(start <= at < end for times in self.reads for at in times)
        return round(events / max(1, reads), 2)


async def received_by(processes: list[asyncio.subprocess.Process]) -> Received:
    """Stop the subscribers; what each of them read, and when."""
    received = Received([], [])
    for process in processes:
        assert process.stdout is not None
        process.send_signal(signal.SIGTERM)
        output = msgspec.json.decode(await process.stdout.read(), type=Received)
        received.received += output.received
        received.reads += output.reads
        await process.wait()
    return received


async def part_b(
    url: str,
    token: str,
    database_url: str,
    kumo_pid: int,
    seconds: float,
    subscribers: int,
    spread: int = PROCESSES,
) -> StreamFigures:
    """(b) on the running cloud at `url` (served by process `kumo_pid`), the subscribers
    in `spread` processes."""
    pool = await create_pool(database_url, min_size=WRITERS, max_size=WRITERS + 2)
    try:
        store = kumo_store(pool)
        postmaster = psutil.Process(await pool.fetchval("SELECT pg_backend_pid()")).parent()
        assert postmaster is not None
        meter = Meter(kumo_pid, postmaster)
        progress(f"(b) {WRITERS} writers flat out, no subscribers, {seconds:.0f}s")
        alone = await meter.phase(Writer(store).flat_out(seconds))
        progress(f"(b) {RATE} events/s paced, no subscribers, {seconds:.0f}s")
        quiet = Writer(store)
        paced_alone = await meter.phase(quiet.paced(RATE, seconds), SETTLE)
        processes = await subscribe(url, token, subscribers, spread)
        meter.subscribers = [psutil.Process(p.pid) for p in processes]
        progress(f"(b) {subscribers} subscribers connected; {RATE} events/s for {seconds:.0f}s")
        paced, paced_window = Writer(store), [time.time()]
        paced_with = await meter.phase(paced.paced(RATE, seconds), SETTLE)
        paced_window.append(time.time())
        progress(f"(b) {WRITERS} writers flat out with the subscribers, {seconds:.0f}s")
        flat_window = [time.time()]
        spent_with = await meter.phase(Writer(store).flat_out(seconds))
        flat_window.append(time.time())
        meter.subscribers = []
        received = await received_by(processes)
        progress(f"(b) {WRITERS} writers flat out again, the subscribers gone, {seconds:.0f}s")
        alone_after = await meter.phase(Writer(store).flat_out(seconds))
    finally:
        await pool.close()
    delays = [
        max(0.0, (at - paced.committed[position]) * 1000)
        for seen in received.received
        for position, at in seen
        if position in paced.committed
    ]
    return StreamFigures(
        subscribers=subscribers,
        seconds=seconds,
        target_rate=RATE,
        paced_rate=paced_with.rate,
        appended=len(paced.committed),
        delivered=len(delays),
        expected=len(paced.committed) * subscribers,
        delivery_p50_ms=round(percentile(delays, 50), 2),
        delivery_p99_ms=round(percentile(delays, 99), 2),
        delivery_max_ms=round(max(delays, default=0.0), 2),
        append_p99_ms_alone=round(percentile(quiet.latencies, 99), 2),
        append_p99_ms_with=round(percentile(paced.latencies, 99), 2),
        append_rate_alone=round((alone.rate + alone_after.rate) / 2, 1),
        append_rates_alone=(alone.rate, alone_after.rate),
        append_rate_with=spent_with.rate,
        paced=(paced_alone, paced_with),
        server_us_per_delivery=round(
            (paced_with.server_ms - paced_alone.server_ms) * 1000 / subscribers, 2
        ),
        subscriber_us_per_delivery=round(paced_with.subscribers_ms * 1000 / subscribers, 2),
        flat_out=(alone, spent_with, alone_after),
        events_per_read=(
            received.events_per_read(*paced_window),
            received.events_per_read(*flat_window),
        ),
    )


async def timed(call: Callable[[], Awaitable[None]], times: int) -> list[float]:
    """Milliseconds of each of `times` calls, one after the other."""
    spent = []
    for _ in range(times):
        start = time.perf_counter()
        await call()
        spent.append((time.perf_counter() - start) * 1000)
    return spent


async def part_c(
    http: aiohttp.ClientSession, token: str, project: str, database_url: str, requests: int
) -> TimeTravelFigures:
    """(c) a server with HISTORY events, rebuilt at its middle and now."""
    pool = await create_pool(database_url, min_size=1, max_size=2)
    try:
        store = kumo_store(pool)
        actor = Metadata(actor=Actor(user_id="bench", project_id=project, roles=("admin",)))
        flavor = compute_events.FlavorSnapshot(id="1", name="m1.nano", vcpus=1, ram=128, disk=1)
        created = compute_events.ServerCreateRequested(
            server_id="tt-bench",
            project_id=project,
            user_id="bench",
            name="tt",
            flavor=flavor,
            image_id="none",
            availability_zone="nova",
            reservation_id="r-bench",
        )
        await store.append("server-tt-bench", [created], metadata=actor)
        progress(f"(c) appending {HISTORY:,} events of one server's history")
        middle = 0
        for start in range(1, HISTORY, 100):
            changes = [
                compute_events.ServerMetadataSet(server_id="tt-bench", items={"n": str(n)})
                for n in range(start, min(start + 100, HISTORY))
            ]
            appended = await store.append("server-tt-bench", changes, metadata=actor)
            if start <= HISTORY // 2 < start + 100:
                middle = appended.events[HISTORY // 2 - start].position
    finally:
        await pool.close()
    headers = {"X-Auth-Token": token}

    def rebuild(query: str) -> Callable[[], Awaitable[None]]:
        async def call() -> None:
            async with http.get(
                f"/events/v1/resources/server/tt-bench{query}", headers=headers
            ) as r:
                body = await r.json()
                assert r.status == 200, body
                assert body["server"]["metadata"]["n"] in (str(HISTORY // 2), str(HISTORY - 1))

        return call

    progress(f"(c) {requests} rebuilds at the middle of the history, {requests} at now")
    at_middle = await timed(rebuild(f"?at={middle}"), requests)
    now = await timed(rebuild(""), requests)
    return TimeTravelFigures(
        history=HISTORY,
        requests=requests,
        at_middle_p50_ms=round(percentile(at_middle, 50), 1),
        at_middle_p99_ms=round(percentile(at_middle, 99), 1),
        now_p50_ms=round(percentile(now, 50), 1),
        now_p99_ms=round(percentile(now, 99), 1),
        max_ms=round(max(at_middle + now), 1),
    )


async def parts_b_and_c(
    parts: str = "bc",
    seconds: float = 10.0,
    requests: int = 50,
    subscribers: int = SUBSCRIBERS,
    spread: int = PROCESSES,
) -> tuple[StreamFigures | None, TimeTravelFigures | None]:
    """(b) then (c), those named in `parts`, on one `kumo up` (b's subscribers in `spread`
    processes)."""
    async with running_kumo(
        KUMO_ADMIN_PASSWORD=PASSWORD, KUMO_LOG_LEVEL="WARNING", KUMO_PASSWORD_HASH_ROUNDS="4"
    ) as kumo:
        async with aiohttp.ClientSession(kumo.url) as http:
            api, project = await admin_api(http)
            stream = travel = None
            if "b" in parts:
                stream = await part_b(
                    kumo.url, api.token, kumo.database_url, kumo.pid, seconds, subscribers, spread
                )
            if "c" in parts:
                travel = await part_c(http, api.token, project, kumo.database_url, requests)
    return stream, travel


def report(b: StreamFigures | None, c: TimeTravelFigures | None) -> None:
    """The figures of (b) and (c) and their verdicts."""
    if b is not None:
        print(
            f"(b) {b.subscribers} SSE subscribers, {b.target_rate} events/s paced"
            f" ({b.paced_rate:,.0f}/s achieved, {b.appended:,} events):"
            f" delivered {b.delivered:,}/{b.expected:,}; latency p50 {b.delivery_p50_ms} ms,"
            f" p99 {b.delivery_p99_ms} ms, max {b.delivery_max_ms} ms"
        )
        print(
            f"    append p99 {b.append_p99_ms_alone} ms alone, {b.append_p99_ms_with} ms with"
            f" the subscribers; {WRITERS} writers flat out: {b.append_rate_alone:,.0f}/s alone"
            f" (before {b.append_rates_alone[0]:,.0f}, after {b.append_rates_alone[1]:,.0f}),"
            f" {b.append_rate_with:,.0f}/s with the subscribers"
        )
        print(
            f"    CPU a delivery over the paced phase: the server {b.server_us_per_delivery} µs"
            f" (with less without), the subscribers {b.subscriber_us_per_delivery} µs;"
            f" events a receive {b.events_per_read[0]} paced, {b.events_per_read[1]} flat out"
        )
        phases = ("paced alone", "paced with", "flat out alone", "flat out with", "flat out alone")
        for name, spent in zip(phases, b.paced + b.flat_out, strict=True):
            print(
                f"    {name}: {spent.rate:,.0f}/s; CPU ms an append: writers"
                f" {spent.writers_ms}, server {spent.server_ms}, Postgres {spent.postgres_ms},"
                f" subscribers {spent.subscribers_ms}; {spent.total_ms} in all"
                f" ({spent.cores} cores busy)"
            )
        met = b.delivery_p99_ms < 50 and b.delivered == b.expected
        print(f"{'PASS' if met else 'MISS'}  (b) p99 < 50 ms: {b.delivery_p99_ms} ms")
        ratio = b.append_rate_with / b.append_rate_alone if b.append_rate_alone else 0.0
        within = ratio >= 0.9
        print(f"{'PASS' if within else 'MISS'}  (b) append rate within 10 %: {ratio:.1%}")
    if c is not None:
        print(
            f"(c) time travel of a server with {c.history:,} events, {c.requests} requests"
            f" each: at the middle p50 {c.at_middle_p50_ms} ms, p99 {c.at_middle_p99_ms} ms;"
            f" now p50 {c.now_p50_ms} ms, p99 {c.now_p99_ms} ms; max {c.max_ms} ms"
        )
        worst = max(c.at_middle_p99_ms, c.now_p99_ms)
        print(f"{'PASS' if worst < 200 else 'MISS'}  (c) < 200 ms: p99 {worst} ms")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Events benchmark parts (b) and (c)")
    parser.add_argument("--seconds", type=float, default=10.0, help="(b)'s phases (10)")
    parser.add_argument("--requests", type=int, default=50, help="(c)'s requests (50)")
    parser.add_argument("--parts", default="bc", help="which of b and c to run (bc)")
    parser.add_argument("--subscribers", type=int, default=SUBSCRIBERS, help="(b)'s (100)")
    parser.add_argument(
        "--processes", type=int, default=PROCESSES, help="(b)'s subscribers' processes (4)"
    )
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    b, c = asyncio.run(
        parts_b_and_c(args.parts, args.seconds, args.requests, args.subscribers, args.processes)
    )
    print(f"load average before {load_before}, after {os.getloadavg()}")
    report(b, c)
    print(msgspec.json.encode({"stream": b, "time_travel": c}).decode())


if __name__ == "__main__":
    main()
