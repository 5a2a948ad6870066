"""Events benchmark (issue 7), one part per function, run in order by `main`:

(a) `kumo projections rebuild --all` over 1,000,000 mixed events: events/s and the
    rebuilding processes' memory, sampled while it runs (target: >= 50,000 events/s, flat
    memory: their peak heap at most 10 MiB above that of a rebuild of half as many events:
    `part_a`).
(b) and (c): 100 SSE subscribers while 1,000 events/s are appended, and time travel of a
    resource with 10,000 events of history (benchmarks/events_live.py says how).

    .venv/bin/python -m benchmarks.events [--events N] [--parts abc] [--keep NAME]

The log for (a) is real activity multiplied: a `kumo up` (libvirt's test driver) serves
one round of a project's life through its HTTP APIs — a project, a user and its role,
logins good and bad, a key pair, an image uploaded, a container with objects, servers
started, stopped, started again and deleted — and its events become a template. Copies
of the template, each with every id and name it created made new, go into a fresh
database through `append_events` in batches of whole copies, in the template's own
order: valid encodings, versions and hashes, as the service would have written them.
The bootstrap's events come first, once. KUMO_BENCH_DATABASE_URL names the server (see
harness.py). With `--keep NAME`, (a) runs in the database NAME on that server (and its
half-size log in NAME_half), filled only if it does not exist yet and kept afterwards, so
that runs of the rebuild alone can be repeated (and alternated between two trees) without
filling the log each time.
Results go to stdout as a table and one JSON line; progress to stderr.
"""

import argparse
import asyncio
import contextlib
import os
import re
import resource
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import asyncpg
import msgspec
import psutil

from benchmarks.compute import PASSWORD, Api, admin_api, blank_disk, upload_image
from benchmarks.events_live import StreamFigures, TimeTravelFigures, parts_b_and_c
from benchmarks.events_live import report as report_live
from benchmarks.harness import (
    IDS,
    ROOT,
    fresh_database,
    on_server,
    progress,
    running_kumo,
    server_url,
    with_database,
)
from events.clock import SystemClock
from events.codec import decode_event
from events.postgres import Pool, create_pool
from service.migrator import migrate

TOKEN = "tmplzz00"
"""In every name the template's activity gives, so that each copy can rename it."""
_ID = re.compile(
    r"(?<![0-9a-f])(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})"
    r"(?![0-9a-f])"
)
_APPEND = "SELECT count(*) FROM append_events($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL)"


Row = tuple[str, str, int, bytes, bytes]
"""An event to append: stream, type, schema version, data, metadata."""


class Template(msgspec.Struct, frozen=True):
    """Events of one round of activity (stream, type, schema version, data, metadata),
    the ids it created, and the bootstrap events before it."""

    bootstrap: list[Row]
    events: list[Row]
    created: frozenset[str]


class RebuildFigures(msgspec.Struct, frozen=True):
    """Part (a): the log rebuilt, how fast, and the rebuilding process's memory."""

    log_events: int
    template_events: int
    fill_seconds: float
    rebuild_seconds: float
    events_per_s: float
    applied: int
    rss_start_mb: float
    rss_peak_mb: float
    rss_growth_mb: float
    """The summed RSS's growth after the first quarter of the run (the rule until session
    5, which counted the processes' working sets still filling in)."""
    rss_samples: list[tuple[float, float]]
    half_log_events: int
    heap_peak_mb: float
    """The most the rebuilding processes' heaps held together (RssTrace)."""
    half_log_heap_peak_mb: float
    """The same, rebuilding a log of half as many events."""
    heap_growth_mb: float
    """What the second half of the events costs the peak heap: flat memory is at most
    10 MiB."""
    cpu_seconds: float
    """CPU of the rebuilding processes (the command and the ones it forked)."""
    server_cpu_seconds: float | None
    """CPU of the database server's processes meanwhile (None: not a local server)."""
    wal_mb: float
    output: list[str]
    chain_seconds: float
    chain_output: str


async def activity(api: Api, user_api: Api, project: str, folder: Path) -> None:
    """One round of a project's life through the APIs, as its member (and the admin)."""
    await user_api.call("POST", "/compute/v2.1/os-keypairs", {"keypair": {"name": f"k-{TOKEN}"}})
    image = await upload_image(user_api, blank_disk(folder))
    swift = f"/object/v1/AUTH_{project}/c-{TOKEN}"
    for method, path, data in (
        ("PUT", swift, None), ("PUT", f"{swift}/a-{TOKEN}", b"first"),
        ("PUT", f"{swift}/b-{TOKEN}", b"second" * 100), ("PUT", f"{swift}/c-{TOKEN}", b"3"),
        ("DELETE", f"{swift}/a-{TOKEN}", None),
    ):  # fmt: skip
        async with user_api.http.request(
            method, path, data=data, headers={"X-Auth-Token": user_api.token}
        ) as response:
            assert response.status in (201, 204), (method, path, response.status)
    servers = []
    for name in ("one", "two"):
        status, body = await user_api.call(
            "POST",
            "/compute/v2.1/servers",
            {"server": {"name": f"{name}-{TOKEN}", "imageRef": image, "flavorRef": "1"}},
        )
        assert status == 202, body
        servers.append(body["server"]["id"])
    for server in servers:
        await until_status(user_api, server, "ACTIVE")
    kept = servers[0]
    await user_api.call("POST", f"/compute/v2.1/servers/{kept}/action", {"os-stop": None})
    await until_status(user_api, kept, "SHUTOFF")
    await user_api.call("POST", f"/compute/v2.1/servers/{kept}/action", {"os-start": None})
    await until_status(user_api, kept, "ACTIVE")
    # Every round ends with its servers gone, as the copies all share the one host.
    for server in servers:
        await user_api.call("DELETE", f"/compute/v2.1/servers/{server}")
        await until_status(user_api, server, None)
    await api.call("PATCH", f"/identity/v3/projects/{project}", {"project": {"enabled": True}})


async def until_status(api: Api, server: str, status: str | None, seconds: float = 60) -> None:
    """Poll a server until it has `status` (None: until it is gone)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        code, body = await api.call("GET", f"/compute/v2.1/servers/{server}")
        if (code == 404 and status is None) or (code == 200 and body["server"]["status"] == status):
            return
        await asyncio.sleep(0.1)
    raise TimeoutError(f"server {server} did not reach {status}")


async def member(api: Api, project: str) -> Api:
    """A new user holding `member` on `project`, signed in (after one wrong password)."""
    user_body = {"user": {"name": f"u-{TOKEN}", "password": "pw-bench-1"}}
    _, user = await api.call("POST", "/identity/v3/users", user_body)
    _, roles = await api.call("GET", "/identity/v3/roles?name=member")
    role = roles["roles"][0]["id"]
    user_id = user["user"]["id"]
    await api.call("PUT", f"/identity/v3/projects/{project}/users/{user_id}/roles/{role}")
    for password, expected in (("wrong-pw-1", 401), ("pw-bench-1", 201)):
        auth = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {"user": {"id": user_id, "password": password}},
                },
                "scope": {"project": {"id": project}},
            }
        }
        async with api.http.post("/identity/v3/auth/tokens", json=auth) as response:
            assert response.status == expected, response.status
            token = response.headers.get("X-Subject-Token", "")
    return Api(api.http, token)


async def record_template() -> Template:
    """Serve one round of activity on a `kumo up` and read back the events it logged."""
    async with running_kumo(
        KUMO_ADMIN_PASSWORD=PASSWORD,
        KUMO_LIBVIRT_URI="test:///default",
        KUMO_PASSWORD_HASH_ROUNDS="4",
        KUMO_LOG_LEVEL="WARNING",
    ) as kumo:
        pool = await create_pool(kumo.database_url, min_size=1, max_size=2)
        try:
            async with aiohttp.ClientSession(base_url=kumo.url) as http:
                api, _ = await admin_api(http)
                await asyncio.sleep(1.0)  # let the start-up's own appends settle
                start = await pool.fetchval("SELECT max(position) FROM events")
                _, body = await api.call(
                    "POST", "/identity/v3/projects", {"project": {"name": f"p-{TOKEN}"}}
                )
                project = body["project"]["id"]
                await activity(api, await member(api, project), project, kumo.data_dir)
            await asyncio.sleep(1.0)  # the last reactions (a deletion's clean-up) land
            rows = await pool.fetch(
                "SELECT position, stream_id, type, schema_version, data, metadata FROM events"
                " ORDER BY position"
            )
        finally:
            await pool.close()
    logged: list[Row] = [(r[1], r[2], r[3], r[4], r[5]) for r in rows]
    bootstrap = [e for r, e in zip(rows, logged, strict=True) if r[0] <= start]
    events = [e for r, e in zip(rows, logged, strict=True) if r[0] > start]
    known = {i for e in bootstrap for i in _ids(e)}
    created = frozenset(i for e in events for i in _ids(e) if i not in known)
    return Template(bootstrap, events, created)


def _ids(event: Row) -> set[str]:
    """The ids in an event's stream and data."""
    return set(_ID.findall(event[0])) | set(_ID.findall(event[3].decode()))


def copies(template: Template, start: int) -> Iterator[list[Row]]:
    """Copy number `start`, `start + 1`, ... of the template's events, each with its own ids
    (the first 8 hex digits of each created id become the copy number) and names."""
    created = template.created

    def pieces(text: str) -> list[tuple[str, bool]]:
        """The text cut around ids: (piece, whether it is a created id)."""
        cut = re.split(f"({_ID.pattern})", text)
        return [(piece, i % 2 == 1 and piece in created) for i, piece in enumerate(cut)]

    source = [
        (pieces(stream), kind, version, pieces(data.decode()), pieces(metadata.decode()))
        for stream, kind, version, data, metadata in template.events
    ]

    def fresh(text: list[tuple[str, bool]], prefix: str, name: str) -> str:
        joined = "".join(prefix + piece[8:] if new else piece for piece, new in text)
        return joined.replace(TOKEN, name)

    number = start
    while True:
        p, n = f"{number:08x}", f"n{number:07d}"
        yield [
            (fresh(stream, p, n), kind, version, fresh(data, p, n).encode(),
             fresh(metadata, p, n).encode())
            for stream, kind, version, data, metadata in source
        ]  # fmt: skip
        number += 1


async def append_batch(pool: Pool, events: list[Row]) -> int:
    """Append events, in this order, through append_events in one call; how many."""
    streams = sorted({e[0] for e in events})
    slot = {s: i + 1 for i, s in enumerate(streams)}
    written: int = await pool.fetchval(
        _APPEND,
        streams,
        [None] * len(streams),
        [slot[e[0]] for e in events],
        [IDS.new_id() for _ in events],
        [e[1] for e in events],
        [e[2] for e in events],
        [e[3] for e in events],
        [e[4] for e in events],
        SystemClock().now(),
    )
    return written


async def fill(url: str, template: Template, total: int, batch: int = 2000) -> int:
    """The bootstrap's events, then template copies in batches of whole copies, until the
    log holds about `total` events; the number written."""
    pool = await create_pool(url, min_size=2, max_size=3)
    try:
        written = await append_batch(pool, template.bootstrap)
        per_batch = max(1, batch // len(template.events))
        source = copies(template, start=1)
        first = next(source)
        for event in first:  # the copies decode as the service's own events do
            decode_event(event[1], event[2], event[3])
        pending = [first]

        async def writer() -> None:
            nonlocal written
            while written < total:
                rounds = [pending.pop() if pending else next(source) for _ in range(per_batch)]
                events = [e for round_ in rounds for e in round_]
                written += len(events)
                await append_batch(pool, events)
                if written // 100_000 != (written - len(events)) // 100_000:
                    progress(f"(a) fill: {written:,} events")

        await asyncio.gather(writer(), writer())
        return written
    finally:
        await pool.close()


class RssTrace:
    """A process's resident memory over time, with its child processes' (a rebuild forks
    one per core), sampled every `interval` seconds: their summed RSS, and the most their
    heaps held together (their anonymous pages: what they allocated, not the shared
    library pages they map)."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.process = psutil.Process(pid)
        self.interval = interval
        self.samples: list[tuple[float, float]] = []
        self.peak_heap = 0.0
        """MiB."""

    async def run(self) -> None:
        start = time.perf_counter()
        while True:
            try:
                if self.process.status() == psutil.STATUS_ZOMBIE:
                    return
                processes = [self.process, *self.process.children(True)]
            except psutil.NoSuchProcess:
                return
            rss = heaps = 0
            for process in processes:
                with contextlib.suppress(psutil.NoSuchProcess):
                    memory = process.memory_info()
                    rss += memory.rss
                    heaps += memory.rss - memory.shared
            self.samples.append((round(time.perf_counter() - start, 2), round(rss / 2**20, 1)))
            self.peak_heap = max(self.peak_heap, round(heaps / 2**20, 1))
            await asyncio.sleep(self.interval)


class ServerCpu:
    """CPU seconds of a local Postgres server's processes (the postmaster listening on the
    URL's port and its children, backends that exit counted as last seen), sampled every
    `interval` seconds until stopped; None when no such process is found here."""

    def __init__(self, url: str, interval: float = 0.1) -> None:
        port = f"-p {urlsplit(url).port}"
        self.postmaster = next(
            (
                p
                for p in psutil.process_iter(["cmdline"])
                if port in " ".join(p.info["cmdline"] or ())
            ),
            None,
        )
        self.interval = interval
        self._seen: dict[int, float] = {}
        self._start = self._sample()

    def _sample(self) -> float:
        if self.postmaster is None:
            return 0.0
        with contextlib.suppress(psutil.NoSuchProcess):
            for process in [self.postmaster, *self.postmaster.children()]:
                with contextlib.suppress(psutil.NoSuchProcess):
                    times = process.cpu_times()
                    self._seen[process.pid] = times.user + times.system
        return sum(self._seen.values())

    async def run(self) -> None:
        while True:
            self._sample()
            await asyncio.sleep(self.interval)

    def seconds(self) -> float | None:
        """CPU seconds used since this was made."""
        return None if self.postmaster is None else round(self._sample() - self._start, 1)


def _command(process: psutil.Process) -> str:
    return " ".join(process.info["cmdline"] or ())


async def wal_position(url: str) -> int:
    """The server's WAL insert position, in bytes."""
    conn = await asyncpg.connect(url)
    try:
        position: int = await conn.fetchval("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")
        return position
    finally:
        await conn.close()


class Run(msgspec.Struct, frozen=True):
    """One `kumo` command run: its wall time, its output lines, its RSS over time and its
    processes' peak heap (RssTrace), the CPU seconds of its processes and of the database
    server's, and the WAL it wrote."""

    seconds: float
    lines: list[str]
    rss: list[tuple[float, float]]
    peak_heap_mb: float
    cpu_seconds: float
    server_cpu_seconds: float | None
    wal_mb: float


async def kumo(url: str, *argv: str) -> Run:
    """`python -m service ARGV` on the database `url`, its RSS sampled as it runs;
    RuntimeError with its stderr if it fails."""
    with tempfile.TemporaryDirectory() as data_dir:
        env = {**os.environ, "KUMO_DATABASE_URL": url, "KUMO_DATA_DIR": data_dir}
        env["KUMO_LOG_LEVEL"] = "WARNING"
        wal = await wal_position(url)
        server = ServerCpu(url)
        server_sampler = asyncio.create_task(server.run())
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "service", *argv,
            cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        trace = RssTrace(process.pid)
        sampler = asyncio.create_task(trace.run())
        out, err = await process.communicate()
        seconds = time.perf_counter() - start
        await sampler
        server_sampler.cancel()
        # The command and the processes it waited for, reaped by now.
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
        wal_mb = (await wal_position(url) - wal) / 2**20
    if process.returncode != 0:
        raise RuntimeError(f"kumo {' '.join(argv)} failed:\n{err.decode()[-2000:]}")
    return Run(
        round(seconds, 2),
        out.decode().splitlines(),
        trace.samples,
        trace.peak_heap,
        round(cpu, 1),
        server.seconds(),
        round(wal_mb, 1),
    )


class Log(msgspec.Struct, frozen=True):
    """A filled log: its database, events, events per round of activity, fill time."""

    url: str
    events: int
    per_round: int
    fill_seconds: float


class Templates:
    """The template of a round of activity, recorded the first time one is asked for."""

    def __init__(self) -> None:
        self._template: Template | None = None

    async def get(self) -> Template:
        if self._template is None:
            progress("(a) recording one round of activity on a kumo up")
            self._template = await record_template()
            template = self._template
            progress(f"(a) template: {len(template.events)} events, {len(template.created)} ids")
        return self._template


@contextlib.asynccontextmanager
async def filled_log(
    server: str, total: int, keep: str | None, templates: Templates
) -> AsyncIterator[Log]:
    """A database on `server` whose log holds about `total` mixed events: a fresh one,
    dropped afterwards, or the kept database `keep` (filled first if it does not exist)."""
    if keep is not None and await _exists(server, keep):
        url = with_database(server, keep)
        pool = await create_pool(url, min_size=1, max_size=1)
        try:
            written = await pool.fetchval("SELECT count(*) FROM events")
            # Rounds are whole copies of the template: the events of its first copy.
            per_round = await pool.fetchval(
                "SELECT count(*) FROM events WHERE stream_id LIKE '%00000001%'"
            )
        finally:
            await pool.close()
        progress(f"(a) kept database {keep}: {written:,} events")
        yield Log(url, written, per_round, 0.0)
        return
    template = await templates.get()
    async with contextlib.AsyncExitStack() as stack:
        if keep is None:
            url = await stack.enter_async_context(fresh_database(server))
        else:
            url = with_database(server, keep)
            await on_server(server, f"CREATE DATABASE {keep}")
            await migrate(url)
        start = time.perf_counter()
        written = await fill(url, template, total)
        seconds = round(time.perf_counter() - start, 1)
        yield Log(url, written, len(template.events), seconds)


async def _exists(server: str, database: str) -> bool:
    conn = await asyncpg.connect(server)
    try:
        found: bool = await conn.fetchval(
            "SELECT exists(SELECT FROM pg_database WHERE datname = $1)", database
        )
        return found
    finally:
        await conn.close()


async def part_a(server: str, total: int, keep: str | None = None) -> RebuildFigures:
    """(a) `kumo projections rebuild --all` over about `total` mixed events (then, for
    the record, `kumo verify --chain` over the same log), and over half as many for the
    memory: flat memory is a peak that does not grow with the events. (The logs, not the
    times of one run: a process's working set fills in over the first third or so of a
    run, as its models start and their batches and caches fill, and its reading is not
    spread evenly over the run. Half a million events fill every model's batches and
    caches, a quarter do not: 17 MiB less; what the metadata cache holds at the peak
    moves it by a few MiB either way.) With `keep`, the smaller log is kept as
    `keep`_half."""
    templates = Templates()
    half_keep = None if keep is None else f"{keep}_half"
    async with filled_log(server, total // 2, half_keep, templates) as half:
        progress(f"(a) {half.events:,} events (fill {half.fill_seconds}s); rebuilding them")
        half_rebuilt = await kumo(half.url, "projections", "rebuild", "--all")
    async with filled_log(server, total, keep, templates) as log:
        url, written = log.url, log.events
        progress(f"(a) {written:,} events (fill {log.fill_seconds}s); rebuilding every read model")
        rebuilt = await kumo(url, "projections", "rebuild", "--all")
        progress(f"(a) rebuilt in {rebuilt.seconds}s; checking the hash chain")
        chain = await kumo(url, "verify", "--chain")
    lines, seconds, trace = rebuilt.lines, rebuilt.seconds, rebuilt.rss
    applied = sum(int(m.group(1)) for line in lines if (m := re.search(r": (\d+) event", line)))
    rss = [r for _, r in trace]
    settled = rss[len(rss) // 4 :] or rss  # once the interpreter and its imports are in
    return RebuildFigures(
        log_events=written,
        template_events=log.per_round,
        fill_seconds=log.fill_seconds,
        rebuild_seconds=round(seconds, 2),
        events_per_s=round(written / seconds, 1),
        applied=applied,
        rss_start_mb=settled[0],
        rss_peak_mb=max(rss),
        rss_growth_mb=round(max(settled) - settled[0], 1),
        rss_samples=trace[:: max(1, len(trace) // 20)],
        half_log_events=half.events,
        heap_peak_mb=rebuilt.peak_heap_mb,
        half_log_heap_peak_mb=half_rebuilt.peak_heap_mb,
        heap_growth_mb=round(rebuilt.peak_heap_mb - half_rebuilt.peak_heap_mb, 1),
        cpu_seconds=rebuilt.cpu_seconds,
        server_cpu_seconds=rebuilt.server_cpu_seconds,
        wal_mb=rebuilt.wal_mb,
        output=lines,
        chain_seconds=chain.seconds,
        chain_output=chain.lines[-1],
    )


class Results(msgspec.Struct):
    """Everything one run measured."""

    date: str
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    rebuild: RebuildFigures | None = None
    stream: StreamFigures | None = None
    time_travel: TimeTravelFigures | None = None


def report(results: Results) -> None:
    """The human-readable figures and verdicts, then the JSON line."""
    print(f"\nKumo events benchmark, {results.date}")
    print(f"load average before {results.load_before}, after {results.load_after}\n")
    a = results.rebuild
    if a is not None:
        print(
            f"(a) rebuild --all: {a.log_events:,} events ({a.template_events} per round of"
            f" activity) in {a.rebuild_seconds}s = {a.events_per_s:,.0f} events/s"
            f" ({a.applied:,} applications across models); fill took {a.fill_seconds}s"
        )
        print(
            f"    RSS summed over the processes {a.rss_start_mb} MiB at 25% of the run, peak"
            f" {a.rss_peak_mb} MiB (growth after 25% {a.rss_growth_mb:+.1f} MiB); their heaps"
            f" at most {a.heap_peak_mb} MiB, against {a.half_log_heap_peak_mb} MiB"
            f" rebuilding {a.half_log_events:,} events: {a.heap_growth_mb:+.1f} MiB"
        )
        print(
            f"    CPU: rebuilding processes {a.cpu_seconds}s, database server"
            f" {a.server_cpu_seconds}s; WAL written {a.wal_mb} MiB"
        )
        print(f"    kumo verify --chain: {a.chain_output!r} in {a.chain_seconds}s")
        met = a.events_per_s >= 50_000
        print(f"{'PASS' if met else 'MISS'}  (a) >= 50,000 events/s: {a.events_per_s:,.0f}/s")
        flat = a.heap_growth_mb <= 10.0
        print(
            f"{'PASS' if flat else 'MISS'}  (a) flat memory (<= 10 MiB more than for half"
            f" the events): {a.heap_growth_mb:+.1f} MiB"
        )
    report_live(results.stream, results.time_travel)
    print(msgspec.json.encode(results).decode())


async def run(args: argparse.Namespace) -> Results:
    """Each part, in order, against the bench server."""
    results = Results(date=time.strftime("%Y-%m-%d %H:%M:%S %Z"), load_before=os.getloadavg())
    server, cluster = server_url()
    try:
        if "a" in args.parts:
            results.rebuild = await part_a(server, args.events, args.keep)
        if "b" in args.parts or "c" in args.parts:
            results.stream, results.time_travel = await parts_b_and_c(args.parts)
    finally:
        if cluster is not None:
            cluster.stop()
    results.load_after = os.getloadavg()
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--events", type=int, default=1_000_000, help="events in the log for (a) (1,000,000)"
    )
    parser.add_argument("--parts", default="abc", help="which parts to run (abc)")
    parser.add_argument(
        "--keep", metavar="NAME", help="(a) in the database NAME, filled once and kept"
    )
    report(asyncio.run(run(parser.parse_args(argv))))


if __name__ == "__main__":
    main()
