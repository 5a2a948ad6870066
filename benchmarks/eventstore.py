"""Event-store benchmark (issue 2): appends against a plain-INSERT baseline, replay
speed and memory, and subscription lag, against one Postgres in one run.

    .venv/bin/python -m benchmarks.eventstore [--quick] [--seconds N]

KUMO_BENCH_DATABASE_URL names a server to use (its user must be allowed to create
databases); otherwise an embedded cluster with fsync on is started under
.kumo/bench-postgres on port 54330 (and stopped again if this run started it).
Each run creates a fresh database, migrates it, and drops it at the end.

The replay log is filled through the store's own batched appends (1,000 events
per `store.append`), not a SQL shortcut, so it holds what real appends write.
Results go to stdout as a table and then as one JSON line; progress to stderr.
"""

import argparse
import asyncio
import gc
import os
import resource
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import asyncpg
import msgspec
import psutil

from benchmarks.harness import IDS, fresh_database, percentile, progress, server_url
from events.clock import SystemClock
from events.codec import encode
from events.postgres import Pool, PostgresEventStore, create_pool
from events.subscription import Subscription, SubscriptionRunner
from events.types import Event, Metadata, RecordedEvent

LAG_GROUP = "bench-lag"
CLOCK = SystemClock()
PLAIN_TABLE = """
CREATE TABLE bench_plain_events (
    position        bigserial   PRIMARY KEY,
    stream_id       text        NOT NULL,
    version         bigint      NOT NULL,
    event_id        uuid        NOT NULL,
    type            text        NOT NULL,
    schema_version  integer     NOT NULL,
    data            jsonb       NOT NULL,
    metadata        jsonb       NOT NULL,
    recorded_at     timestamptz NOT NULL
)"""
PLAIN_INSERT = (
    "INSERT INTO bench_plain_events (stream_id, version, event_id, type, schema_version,"
    " data, metadata, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
)

Call = Callable[[], Awaitable[int]]
"""One timed operation of a writer; returns how many events it wrote."""
WriterFactory = Callable[[int], Call]
"""Makes the call of writer number n (each writer has streams of its own)."""


class SampleRecorded(Event, frozen=True, tag="BenchSampleRecorded"):
    """The benchmark's event: a few fields, about 200 bytes of JSON."""

    subject_id: str
    seq: int
    name: str
    flavor: str = "m1.small"
    image: str = "debian-12-genericcloud-amd64"
    zone: str = "nova"
    tags: tuple[str, ...] = ("bench", "kumo", "eventstore")


def sample_event(seq: int) -> SampleRecorded:
    """The seq-th sample event."""
    return SampleRecorded(
        subject_id="7c9e6679-7425-40de-944b-e07fc1f90ae7", seq=seq, name=f"bench-server-{seq:08d}"
    )


class Settings(msgspec.Struct, frozen=True):
    """Sizes of one run."""

    seconds: float
    batch: int = 100
    replay_events: int = 1_000_000
    fill_batch: int = 1_000
    lag_rate: int = 1_000


class Throughput(msgspec.Struct, frozen=True):
    """What a group of writers achieved in one timed phase."""

    phase: str
    writers: int
    events_per_call: int
    calls: int
    events: int
    seconds: float
    events_per_s: float
    p50_ms: float
    p99_ms: float


class Replay(msgspec.Struct, frozen=True):
    """A full read of the log from position 0, and the process's memory meanwhile."""

    events: int
    seconds: float
    events_per_s: float
    rss_before_mb: float
    rss_peak_mb: float
    rss_after_mb: float
    rss_growth_mb: float
    rss_samples: list[tuple[int, float]]
    max_rss_process_mb: float


class Lag(msgspec.Struct, frozen=True):
    """Commit-to-delivery time of a subscription while appends run at a steady rate."""

    rate_target: int
    rate_achieved: float
    events: int
    delivered: int
    early: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    stop_cancels: int


class Results(msgspec.Struct):
    """Everything one run measured, and where."""

    date: str
    server: str
    settings: Settings
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    throughput: list[Throughput] = []
    fill_seconds: float = 0.0
    replay: Replay | None = None
    lag: Lag | None = None


def rss_mb() -> float:
    """This process's resident set size in MiB."""
    return psutil.Process().memory_info().rss / 2**20


async def measure_writers(
    phase: str, factory: WriterFactory, writers: int, seconds: float, events_per_call: int
) -> Throughput:
    """Run `writers` closed-loop writers for `seconds`; throughput and call latency.

    Each writer makes one untimed call first, so connections and prepared
    statements are warm; calls in flight at the deadline are finished and counted.
    """
    calls = [factory(n) for n in range(writers)]
    await asyncio.gather(*(call() for call in calls))
    latencies: list[float] = []
    start = time.perf_counter()
    deadline = start + seconds

    async def loop(call: Call) -> int:
        written = 0
        while (began := time.perf_counter()) < deadline:
            written += await call()
            latencies.append(time.perf_counter() - began)
        return written

    events = sum(await asyncio.gather(*(loop(call) for call in calls)))
    elapsed = time.perf_counter() - start
    result = Throughput(
        phase=phase,
        writers=writers,
        events_per_call=events_per_call,
        calls=len(latencies),
        events=events,
        seconds=round(elapsed, 3),
        events_per_s=round(events / elapsed, 1),
        p50_ms=round(percentile(latencies, 50) * 1000, 3),
        p99_ms=round(percentile(latencies, 99) * 1000, 3),
    )
    progress(f"{phase}: {result.events_per_s:,.0f} events/s, p99 {result.p99_ms} ms")
    return result


def store_appender(store: PostgresEventStore, events_per_call: int) -> WriterFactory:
    """Writers that `store.append` events_per_call events to a stream of their own."""

    def writer(number: int) -> Call:
        stream_id = f"bench-{IDS.new_id()}"
        seq = 0

        async def call() -> int:
            nonlocal seq
            events = [sample_event(seq + i) for i in range(events_per_call)]
            seq += events_per_call
            await store.append(stream_id, events)
            return events_per_call

        return call

    return writer


def plain_inserter(pool: Pool) -> WriterFactory:
    """Writers that INSERT the same row a single append would write, into a plain table."""

    def writer(number: int) -> Call:
        stream_id = f"plain-{IDS.new_id()}"
        version = 0

        async def call() -> int:
            nonlocal version
            version += 1
            event = sample_event(version)
            await pool.execute(
                PLAIN_INSERT,
                stream_id,
                version,
                IDS.new_id(),
                event.type_name(),
                event.schema_version,
                encode(event),
                encode(Metadata()),
                CLOCK.now(),
            )
            return 1

        return call

    return writer


async def throughput_phases(store: PostgresEventStore, settings: Settings) -> list[Throughput]:
    """Single-event appends and plain INSERTs with 1 and 16 writers, then batched appends."""
    seconds = settings.seconds
    phases = [
        ("append", store_appender(store, 1), 1),
        ("plain_insert", plain_inserter(store.pool), 1),
        (f"append_batch{settings.batch}", store_appender(store, settings.batch), settings.batch),
    ]
    results = []
    for name, factory, per_call in phases:
        for writers in (1, 16):
            progress(f"{name} with {writers} writer(s) for {seconds:g}s")
            results.append(await measure_writers(name, factory, writers, seconds, per_call))
    return results


async def fill(store: PostgresEventStore, total: int, batch: int, writers: int = 2) -> float:
    """Append events, `batch` per append, until the log holds `total`; the seconds it took."""
    missing = total - await store.head_position()
    start = time.perf_counter()
    done = 0

    async def loop() -> None:
        nonlocal done
        stream_id = f"benchfill-{IDS.new_id()}"
        while done < missing:
            size = min(batch, missing - done)
            done += size
            await store.append(stream_id, [sample_event(done - i) for i in range(size)])
            if done % (100 * batch) < size:
                progress(f"fill: {done:,}/{missing:,} events")

    progress(f"fill: appending {missing:,} events, {batch} per append")
    await asyncio.gather(*(loop() for _ in range(writers)))
    return round(time.perf_counter() - start, 1)


async def replay(store: PostgresEventStore, samples: int = 20) -> Replay:
    """Read (and decode) the whole log with `iter_all`, sampling RSS as it goes."""
    head = await store.head_position()
    every = max(1, head // samples)
    gc.collect()
    before = rss_mb()
    rss_samples: list[tuple[int, float]] = []
    count = 0
    progress(f"replay: reading {head:,} events")
    start = time.perf_counter()
    async for event in store.iter_all(0):
        count += 1
        if count % every == 0:
            rss_samples.append((count, round(rss_mb(), 1)))
            if len(rss_samples) % 5 == 0:
                progress(f"replay: {count:,} events, rss {rss_samples[-1][1]} MiB")
        _touch(event)
    elapsed = time.perf_counter() - start
    peak = max([before, *(rss for _, rss in rss_samples)])
    growth = rss_samples[-1][1] - rss_samples[0][1] if rss_samples else 0.0
    return Replay(
        events=count,
        seconds=round(elapsed, 2),
        events_per_s=round(count / elapsed, 1),
        rss_before_mb=round(before, 1),
        rss_peak_mb=round(peak, 1),
        rss_after_mb=round(rss_mb(), 1),
        rss_growth_mb=round(growth, 1),
        rss_samples=rss_samples,
        max_rss_process_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    )


def _touch(event: RecordedEvent) -> None:
    """Use the decoded event, as a projection would."""
    if not isinstance(event.event, SampleRecorded):
        raise TypeError(f"unexpected event {event.type} at {event.position}")


async def subscription_lag(
    store: PostgresEventStore, reader: PostgresEventStore, dsn: str, rate: int, seconds: float
) -> Lag:
    """Lag from `append` returning to a SubscriptionRunner's handler seeing the event.

    The subscription runs on `reader` (a pool of its own, as a projector would
    have, so that queued writers do not hold up its reads) and starts at the head.
    Appends of one event each are started at `rate` per second whatever their
    latency (open loop); an event's lag is its delivery time in the handler minus
    the time its append returned, both on this process's perf_counter.
    """
    delivered: dict[int, float] = {}
    returned: dict[int, float] = {}

    async def handler(conn: object, events: list[RecordedEvent]) -> None:
        now = time.perf_counter()
        for event in events:
            delivered[event.position] = now

    head = await reader.head_position()
    await reader.pool.execute(
        "INSERT INTO subscription_checkpoints (group_name, partition, position) VALUES ($1, 0, $2)",
        LAG_GROUP,
        head,
    )
    runner = SubscriptionRunner(reader, dsn, Subscription(group=LAG_GROUP, handler=handler))
    task = asyncio.get_running_loop().create_task(runner.run())
    try:
        async with asyncio.timeout(10):
            await runner.wait_until(head)
        await asyncio.sleep(0.5)
        progress(f"lag: appending {rate} events/s for {seconds:g}s")
        achieved = await paced_appends(store, rate, seconds, returned)
        async with asyncio.timeout(10):
            await runner.wait_until(max(returned))
    finally:
        cancels = await stop(task)
    lags = [delivered[p] - t for p, t in returned.items() if p in delivered]
    return Lag(
        rate_target=rate,
        rate_achieved=round(achieved, 1),
        events=len(returned),
        delivered=len(lags),
        early=sum(1 for lag in lags if lag < 0),
        p50_ms=round(percentile(lags, 50) * 1000, 3),
        p99_ms=round(percentile(lags, 99) * 1000, 3),
        max_ms=round(max(lags, default=0.0) * 1000, 3),
        stop_cancels=cancels,
    )


async def stop(task: asyncio.Task[None], grace: float = 10.0) -> int:
    """Cancel `task` until it ends (at most `grace` seconds); how many cancels it took.

    More than one means a cancellation was swallowed somewhere inside the task:
    a SubscriptionRunner once kept its partition polling after a single cancel
    and hung the benchmark (see RESULTS.md).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace
    cancels = 0
    while not task.done() and loop.time() < deadline:
        task.cancel()
        cancels += 1
        await asyncio.wait({task}, timeout=1.0)
    if cancels > 1:
        progress(f"the subscription runner needed {cancels} cancels to stop")
    return cancels


async def paced_appends(
    store: PostgresEventStore, rate: int, seconds: float, returned: dict[int, float]
) -> float:
    """Start `rate` single-event appends a second for `seconds`; the rate achieved.

    Records, by position, the perf_counter time right after each append returned.
    """

    async def append_one(seq: int) -> None:
        result = await store.append(f"benchlag-{IDS.new_id()}", [sample_event(seq)])
        returned[result.last_position] = time.perf_counter()

    tasks: set[asyncio.Task[None]] = set()
    start = time.perf_counter()
    started = 0
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(int(elapsed * rate) - started):
            task = asyncio.get_running_loop().create_task(append_one(started))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            started += 1
        await asyncio.sleep(0.001)
    await asyncio.gather(*tasks)
    return started / (time.perf_counter() - start)


@asynccontextmanager
async def bench_database(server: str) -> AsyncIterator[str]:
    """A fresh, migrated database with the baseline table; dropped on the way out."""
    async with fresh_database(server) as url:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(PLAIN_TABLE)
        finally:
            await conn.close()
        yield url


async def describe_server(pool: Pool) -> str:
    """Version and durability settings of the server measured."""
    row = await pool.fetchrow(
        "SELECT current_setting('server_version') AS version, current_setting('fsync') AS fsync,"
        " current_setting('synchronous_commit') AS sync"
    )
    assert row is not None
    return f"PostgreSQL {row['version']}, fsync={row['fsync']}, synchronous_commit={row['sync']}"


async def run(server: str, settings: Settings) -> Results:
    """Every phase, in order, on a fresh database."""
    results = Results(
        date=time.strftime("%Y-%m-%d %H:%M:%S %Z"), server="", settings=settings,
        load_before=os.getloadavg(),
    )  # fmt: skip
    async with bench_database(server) as url:
        pool = await create_pool(url, min_size=20, max_size=24)
        reader_pool = await create_pool(url, min_size=2, max_size=4)
        try:
            store = PostgresEventStore(pool)
            results.server = await describe_server(pool)
            results.throughput = await throughput_phases(store, settings)
            results.fill_seconds = await fill(store, settings.replay_events, settings.fill_batch)
            results.replay = await replay(store)
            reader = PostgresEventStore(reader_pool)
            results.lag = await subscription_lag(
                store, reader, url, settings.lag_rate, settings.seconds
            )
        finally:
            await reader_pool.close()
            await pool.close()
    results.load_after = os.getloadavg()
    return results


def pick(results: Results, phase: str, writers: int) -> Throughput:
    """The throughput figure of one phase and writer count."""
    return next(t for t in results.throughput if t.phase == phase and t.writers == writers)


def verdicts(results: Results) -> list[tuple[str, str, bool]]:
    """(target, measured, met) for each target of issue 2."""
    ratio = (
        pick(results, "append", 16).events_per_s / pick(results, "plain_insert", 16).events_per_s
    )
    replay, lag = results.replay, results.lag
    assert replay is not None and lag is not None
    flat = replay.rss_growth_mb <= 10.0
    return [
        ("16-writer append >= 50% of plain INSERT", f"{ratio:.0%}", ratio >= 0.5),
        ("replay >= 100,000 events/s", f"{replay.events_per_s:,.0f}/s", replay.events_per_s >= 1e5),
        ("replay memory flat (growth <= 10 MiB)", f"{replay.rss_growth_mb:+.1f} MiB", flat),
        ("subscription lag p99 < 20 ms", f"{lag.p99_ms:.1f} ms", lag.p99_ms < 20.0),
    ]


def print_report(results: Results) -> None:
    """The human-readable table, then the JSON line."""
    print(f"\nKumo event store benchmark, {results.date}; {results.server}")
    print(f"load average before {results.load_before}, after {results.load_after}\n")
    print(f"{'phase':<18}{'writers':>8}{'events/s':>12}{'p50 ms':>10}{'p99 ms':>10}{'events':>10}")
    for t in results.throughput:
        row = f"{t.phase:<18}{t.writers:>8}{t.events_per_s:>12,.0f}{t.p50_ms:>10.2f}"
        print(f"{row}{t.p99_ms:>10.2f}{t.events:>10,}")
    replay, lag = results.replay, results.lag
    assert replay is not None and lag is not None
    print(f"\nfill (store.append x{results.settings.fill_batch}): {results.fill_seconds}s")
    print(
        f"replay: {replay.events:,} events in {replay.seconds}s = {replay.events_per_s:,.0f}/s;"
        f" RSS before {replay.rss_before_mb} MiB, peak {replay.rss_peak_mb},"
        f" after {replay.rss_after_mb}, growth 5%->100% {replay.rss_growth_mb:+.1f} MiB"
    )
    print(
        f"subscription lag at {lag.rate_achieved:,.0f} events/s: p50 {lag.p50_ms:.2f} ms,"
        f" p99 {lag.p99_ms:.2f} ms, max {lag.max_ms:.2f} ms"
        f" ({lag.delivered:,}/{lag.events:,} delivered, {lag.early} before append returned)\n"
    )
    for target, measured, met in verdicts(results):
        print(f"{'PASS' if met else 'MISS'}  {target:<42} {measured}")
    print(msgspec.json.encode(results).decode())


def parse_settings(argv: list[str] | None = None) -> Settings:
    """Settings from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--seconds", type=float, help="seconds per throughput phase")
    args = parser.parse_args(argv)
    if args.quick:
        return Settings(seconds=args.seconds or 2.0, replay_events=50_000)
    return Settings(seconds=args.seconds or 10.0)


def main(argv: list[str] | None = None) -> None:
    """Start (or reach) the server, run every phase, print the report."""
    settings = parse_settings(argv)
    server, started = server_url()
    try:
        print_report(asyncio.run(run(server, settings)))
    finally:
        if started is not None:
            progress("stopping the embedded cluster")
            started.stop()


if __name__ == "__main__":
    main()
