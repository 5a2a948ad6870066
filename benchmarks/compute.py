"""Compute benchmark (issue 6) on libvirt's test driver, against a real `kumo up`:

(a) control-plane overhead: POST /servers to ACTIVE, minus the bare libvirt
    define+create of the same domain, p50/p99 over 200 servers, one at a time (servers
    without networks, in (a), (b) and (d): the same domain as the bare path's);
(b) 1,000 servers requested by 50 concurrent clients against a quota of 950: servers/s
    to ACTIVE, and the quota never overshot;
(c) GET /servers/detail?limit=1000 p50 with 10,000 servers in the project, to the
    response's last byte (and with the client's decoding of its JSON);
(d) on qemu:///system (TCG, the tiny guest of tools/build_test_guest.py): POST /servers to
    ACTIVE and to the guest's first console line (os-getConsoleOutput, polled), against
    `virsh create` of the same domain XML on an overlay of the same image, and the same
    guest's first console line read from its serial log file.

ACTIVE is seen by following the log (LISTEN), not by polling the API.
Usage: python -m benchmarks.compute [--parts abcd] [--servers 200] [--burst 1000] [--boots 3]
Targets: (a) p50 < 20 ms; (b) >= 50 servers/s; (c) < 100 ms; (d) no target, reported.
"""

import argparse
import asyncio
import os
import subprocess
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import msgspec
import psutil

from benchmarks.harness import Kumo, percentile, progress, running_kumo
from events.follow import follow
from events.postgres import PostgresEventStore, create_pool
from events.store import StreamAppend
from service.compute import disks
from service.compute import events as ev
from service.compute.hypervisor import DomainSpec
from service.compute.libvirt import LibvirtDriver
from service.processes import run_program
from service.read_models import kumo_store
from tools.build_test_guest import MARKER
from tools.build_test_guest import build as build_guest

PASSWORD = "bench-admin-pw"
SYSTEM_URI = "qemu:///system"
BOOT_TIMEOUT = 180.0
CONSOLE_POLL = 0.1
"""Seconds between two reads of a console, the same for the API and the bare path."""


class Overhead(msgspec.Struct):
    bare_ms: float
    overhead_p50_ms: float
    overhead_p99_ms: float
    api_to_active_p50_ms: float
    kumo_cpu_ms: float = 0.0
    """The serving process's CPU (user + system) per server."""
    postgres_cpu_ms: float = 0.0
    """The database cluster's CPU per server (every process of it: this benchmark's own
    follower's backend included)."""


class Burst(msgspec.Struct):
    requested: int
    accepted: int
    quota: int
    servers_per_s: float
    usage_after: int


class Detail(msgspec.Struct):
    p50_ms: float
    """To the response's last byte."""
    p50_decoded_ms: float
    """The same and the client's decoding of its JSON."""
    first_ms: float
    servers: int


class Boot(msgspec.Struct):
    """One boot of the tiny guest, in ms from the request (POST or `virsh create`)."""

    running_ms: float
    first_line_ms: float
    ready_ms: float
    first_line: str


class RealGuest(msgspec.Struct):
    cold: Boot
    api: list[Boot]
    bare: list[Boot]


class Figures(msgspec.Struct, omit_defaults=True):
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    overhead: Overhead | None = None
    burst: Burst | None = None
    detail: Detail | None = None
    real_guest: RealGuest | None = None


async def bare_create_ms(samples: int = 200) -> float:
    """p50 of libvirt define+create (and nothing else) on test:///default."""
    times = []
    async with LibvirtDriver("test:///default") as driver:
        for _ in range(samples):
            server = str(uuid.uuid4())
            spec = DomainSpec(
                uuid=server,
                name=f"instance-{server}",
                vcpus=1,
                memory_mib=128,
                serial_log="/dev/null",
            )
            start = time.perf_counter()
            await driver.spawn(spec)
            times.append((time.perf_counter() - start) * 1000)
            await driver.destroy(server)
    return percentile(times, 50)


class Api:
    def __init__(self, http: aiohttp.ClientSession, token: str) -> None:
        self.http = http
        self.token = token

    async def call(self, method: str, path: str, body: object = None) -> tuple[int, dict]:  # type: ignore[type-arg]
        async with self.http.request(
            method, path, json=body, headers={"X-Auth-Token": self.token}
        ) as response:
            raw = await response.read()
            return response.status, (msgspec.json.decode(raw) if raw.strip() else {})


async def admin_api(http: aiohttp.ClientSession) -> tuple[Api, str]:
    auth = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {"name": "admin", "domain": {"id": "default"}, "password": PASSWORD}
                },
            },
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}},
        }
    }
    async with http.post("/identity/v3/auth/tokens", json=auth) as response:
        token = response.headers["X-Subject-Token"]
        project = (await response.json())["token"]["project"]["id"]
    return Api(http, token), project


def blank_disk(folder: Path) -> Path:
    disk = folder / "base.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "16M"], check=True)
    return disk


async def upload_image(api: Api, disk: Path) -> str:
    _, image = await api.call(
        "POST",
        "/image/v2/images",
        {"name": "bench", "disk_format": "qcow2", "container_format": "bare"},
    )
    async with api.http.put(
        f"/image/v2/images/{image['id']}/file",
        data=await asyncio.to_thread(disk.read_bytes),
        headers={"X-Auth-Token": api.token, "Content-Type": "application/octet-stream"},
    ) as r:
        assert r.status == 204
    return str(image["id"])


class Arrivals:
    """When each server's ServerActive, ServerFailed and ServerDeleted were seen in the
    log (LISTEN), by event type and server id."""

    TYPES = (ev.ServerActive, ev.ServerFailed, ev.ServerDeleted)

    def __init__(self, store: PostgresEventStore) -> None:
        self.store = store
        self.seen: dict[tuple[type, str], float] = {}
        self._changed = asyncio.Event()

    async def run(self) -> None:
        types = [t.type_name() for t in self.TYPES]
        async for event in follow(self.store, None, await self.store.head_position(), types=types):
            server = event.stream_id.removeprefix("server-")
            self.seen[(type(event.event), server)] = time.perf_counter()
            self._changed.set()

    async def wait(self, kind: type, servers: list[str], within: float) -> list[float]:
        """The times `kind` was seen for each of `servers`, waiting up to `within`
        seconds for the last; RuntimeError if one failed instead."""
        async with asyncio.timeout(within):
            while not all((kind, s) in self.seen for s in servers):
                failed = [s for s in servers if (ev.ServerFailed, s) in self.seen]
                if failed and kind is ev.ServerActive:
                    raise RuntimeError(f"servers failed: {failed}")
                self._changed.clear()
                await self._changed.wait()
        return [self.seen[(kind, s)] for s in servers]


async def run(parts: str, servers: int, burst: int, boots: int) -> Figures:
    figures = Figures(load_before=os.getloadavg())
    if set(parts) & set("abc"):
        async with running_kumo(
            KUMO_ADMIN_PASSWORD=PASSWORD,
            KUMO_LIBVIRT_URI="test:///default",
            # The test driver's node is 16 CPUs and 3 GiB: overcommit it so that the 1,200
            # m1.nano of (a) and (b) fit; every create still passes the scheduler's claim.
            KUMO_CPU_ALLOCATION_RATIO="100",
            KUMO_RAM_ALLOCATION_RATIO="64",
            KUMO_DISK_ALLOCATION_RATIO="100",
            KUMO_PASSWORD_HASH_ROUNDS="4",
            KUMO_LOG_LEVEL="WARNING",
        ) as kumo:
            await on_test_driver(kumo, figures, parts, servers, burst)
    if "d" in parts:
        figures.real_guest = await real_guest(boots)
    figures.load_after = os.getloadavg()
    return figures


async def on_test_driver(
    kumo: Kumo, figures: Figures, parts: str, servers: int, burst: int
) -> None:
    pool = await create_pool(kumo.database_url, min_size=2, max_size=8)
    store = kumo_store(pool)
    arrivals = Arrivals(store)
    watcher = asyncio.create_task(arrivals.run())
    connector = aiohttp.TCPConnector(limit=64)
    try:
        async with aiohttp.ClientSession(base_url=kumo.url, connector=connector) as http:
            api, project = await admin_api(http)
            image = await upload_image(api, blank_disk(kumo.data_dir))
            big = {"instances": 100_000, "cores": 100_000, "ram": 100_000_000}
            await api.call("PUT", f"/compute/v2.1/os-quota-sets/{project}", {"quota_set": big})
            if "a" in parts:
                postmaster = psutil.Process(await pool.fetchval("SELECT pg_backend_pid()")).parent()
                assert postmaster is not None
                figures.overhead = await overhead(api, arrivals, image, servers, kumo, postmaster)
            if "b" in parts:
                figures.burst = await burst_of_creates(api, arrivals, project, image, burst)
            if "c" in parts:
                figures.detail = await detail_page(api, store, project, image)
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
        await pool.close()


def new_server(name: str, image: str) -> dict[str, object]:
    """A server without networks (`networks: none`): the domain the API starts is then
    the one the bare baselines start, and (a) and (b) measure compute alone (a project's
    default network, a /24, would also stop (b) at 253 servers)."""
    return {"server": {"name": name, "imageRef": image, "flavorRef": "1", "networks": "none"}}


def cpu_seconds(process: psutil.Process) -> float:
    """A process's CPU time, user and system, that of its reaped children included."""
    times = process.cpu_times()
    return float(times.user + times.system + times.children_user + times.children_system)


def tree_cpu_seconds(parent: psutil.Process) -> float:
    """The CPU time of a process and its children, those it reaped and those running now:
    a Postgres cluster's postmaster and backends, `kumo up` and its HTTP workers."""
    running = 0.0
    for child in parent.children():
        try:
            running += cpu_seconds(child)
        except psutil.NoSuchProcess:
            continue
    return cpu_seconds(parent) + running


async def overhead(
    api: Api, arrivals: Arrivals, image: str, servers: int, kumo: Kumo, postmaster: psutil.Process
) -> Overhead:
    bare = await bare_create_ms()
    progress(f"(a) {servers} servers one at a time")
    latencies = []
    server = psutil.Process(kumo.pid)
    cpu_before = tree_cpu_seconds(server), tree_cpu_seconds(postmaster)
    for i in range(servers):
        start = time.perf_counter()
        status, body = await api.call("POST", "/compute/v2.1/servers", new_server(f"a{i}", image))
        assert status == 202, body
        [active] = await arrivals.wait(ev.ServerActive, [body["server"]["id"]], 30)
        latencies.append((active - start) * 1000)
    kumo_cpu = tree_cpu_seconds(server) - cpu_before[0]
    postgres_cpu = tree_cpu_seconds(postmaster) - cpu_before[1]
    return Overhead(
        bare_ms=round(bare, 3),
        overhead_p50_ms=round(percentile(latencies, 50) - bare, 2),
        overhead_p99_ms=round(percentile(latencies, 99) - bare, 2),
        api_to_active_p50_ms=round(percentile(latencies, 50), 2),
        kumo_cpu_ms=round(kumo_cpu * 1000 / servers, 2),
        postgres_cpu_ms=round(postgres_cpu * 1000 / servers, 2),
    )


async def instances_in_use(api: Api, project: str) -> int:
    _, usage = await api.call("GET", f"/compute/v2.1/os-quota-sets/{project}/detail")
    return int(usage["quota_set"]["instances"]["in_use"])


async def burst_of_creates(
    api: Api, arrivals: Arrivals, project: str, image: str, burst: int
) -> Burst:
    progress(f"(b) {burst} servers from 50 clients")
    quota = burst - burst // 20
    used = await instances_in_use(api, project)
    await api.call(
        "PUT",
        f"/compute/v2.1/os-quota-sets/{project}",
        {"quota_set": {"instances": used + quota}},
    )
    accepted: list[str] = []
    queue = iter(range(burst))

    async def client() -> None:
        for i in queue:
            status, body = await api.call(
                "POST", "/compute/v2.1/servers", new_server(f"b{i}", image)
            )
            if status == 202:
                accepted.append(body["server"]["id"])

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(50)))
    elapsed = max(await arrivals.wait(ev.ServerActive, accepted, 900)) - start
    return Burst(
        requested=burst,
        accepted=len(accepted),
        quota=quota,
        servers_per_s=round(len(accepted) / elapsed, 1),
        usage_after=await instances_in_use(api, project) - used,
    )


async def detail_page(api: Api, store: PostgresEventStore, project: str, image: str) -> Detail:
    progress("(c) filling to 10,000 servers through the log")
    total = await fill(store, project, image, 10_000)
    times, decoded = [], []
    for _ in range(20):
        start = time.perf_counter()
        async with api.http.get(
            "/compute/v2.1/servers/detail?limit=1000", headers={"X-Auth-Token": api.token}
        ) as response:
            raw = await response.read()
        times.append((time.perf_counter() - start) * 1000)
        body = msgspec.json.decode(raw)
        decoded.append((time.perf_counter() - start) * 1000)
        assert response.status == 200 and len(body["servers"]) == 1000
    return Detail(
        p50_ms=round(percentile(times, 50), 1),
        p50_decoded_ms=round(percentile(decoded, 50), 1),
        first_ms=round(times[0], 1),
        servers=total,
    )


async def fill(store: PostgresEventStore, project: str, image: str, total: int) -> int:
    """Servers recorded straight into the log (request and activation), up to `total`
    in the project: what (c) reads does not depend on how they got there."""
    pool = store.pool
    have = await pool.fetchval(
        "SELECT count(*) FROM rm_servers WHERE project_id = $1 AND NOT deleted", project
    )
    flavor = ev.FlavorSnapshot(id="1", name="m1.nano", vcpus=1, ram=128, disk=1)
    now = datetime.now(UTC)
    for batch_start in range(have, total, 500):
        appends = []
        for i in range(batch_start, min(total, batch_start + 500)):
            sid = str(uuid.uuid4())
            appends.append(
                StreamAppend(
                    f"server-{sid}",
                    [
                        ev.ServerCreateRequested(
                            server_id=sid,
                            project_id=project,
                            user_id="bench",
                            name=f"c{i}",
                            flavor=flavor,
                            image_id=image,
                            availability_zone="nova",
                            reservation_id="r-bench",
                        ),
                        ev.ServerActive(server_id=sid, host="bench", launched_at=now),
                    ],
                    0,
                )
            )
        await store.append_streams(appends)
    return total


# (d) the tiny guest on qemu:///system


async def virsh(*args: str) -> str:
    done = await run_program(["virsh", "-q", "-c", SYSTEM_URI, *args])
    if done.returncode != 0:
        raise RuntimeError(f"virsh {args[0]}: {done.stderr.decode().strip()}")
    return done.stdout.decode()


async def console_timings(read: Callable[[], Awaitable[str]], start: float) -> Boot:
    """Poll a console until the guest's ready marker: when its first line and the marker
    appeared, in ms after `start` (`running_ms` is left for the caller)."""
    first: tuple[float, str] | None = None
    async with asyncio.timeout(BOOT_TIMEOUT):
        while True:
            text = await read()
            now = (time.perf_counter() - start) * 1000
            lines = [line for line in text.splitlines(keepends=True) if line.strip()]
            if first is None and lines and lines[0].endswith("\n"):
                first = (now, lines[0].strip()[:60])
            if MARKER in text:
                assert first is not None
                return Boot(running_ms=0, first_line_ms=first[0], ready_ms=now, first_line=first[1])
            await asyncio.sleep(CONSOLE_POLL)


class GuestTemplate(msgspec.Struct, frozen=True):
    """What the bare path boots: the API's own domain XML (as libvirt kept it), the
    image the host cached, and the size of the API's overlay on it."""

    xml: str
    base: Path
    size: int


async def api_boot(
    api: Api, arrivals: Arrivals, image: str, name: str
) -> tuple[Boot, GuestTemplate]:
    """Create a server through the API, time it to ACTIVE, to its first console line and
    to its ready marker; capture its domain; delete it and wait until it is gone."""
    start = time.perf_counter()
    status, body = await api.call("POST", "/compute/v2.1/servers", new_server(name, image))
    assert status == 202, body
    server = body["server"]["id"]
    action = f"/compute/v2.1/servers/{server}/action"

    async def console() -> str:
        status, reply = await api.call("POST", action, {"os-getConsoleOutput": {}})
        assert status == 200, reply
        return str(reply["output"])

    try:
        [active] = await arrivals.wait(ev.ServerActive, [server], BOOT_TIMEOUT)
        boot = await console_timings(console, start)
        xml = await virsh("dumpxml", "--inactive", f"instance-{server}")
        [disk] = ET.fromstring(xml).iterfind("devices/disk/source")
        overlay = await disks.info(Path(disk.get("file", "")))
    finally:
        status, reply = await api.call("DELETE", f"/compute/v2.1/servers/{server}")
        assert status == 204, reply
        await arrivals.wait(ev.ServerDeleted, [server], 60)
    assert overlay.backing_file is not None
    template = GuestTemplate(xml, Path(overlay.backing_file), overlay.virtual_size)
    return msgspec.structs.replace(boot, running_ms=(active - start) * 1000), template


async def bare_boot(template: GuestTemplate, folder: Path, name: str) -> Boot:
    """`virsh create` of the API's domain XML under another name, on a fresh overlay of
    the same cached image, its console read from the serial log file; destroyed after."""
    disk, log = folder / f"{name}.qcow2", folder / f"{name}.log"
    await disks.create_overlay(template.base, disk, template.size)
    root = ET.fromstring(template.xml)
    for element in root.findall("uuid"):
        root.remove(element)
    root.findall("name")[0].text = name
    [source] = root.iterfind("devices/disk/source")
    source.set("file", str(disk))
    for console in root.iterfind("devices/*[@type='file']/source"):
        console.set("path", str(log))
    xml = folder / f"{name}.xml"
    xml.write_text(ET.tostring(root, encoding="unicode"))

    async def read_log() -> str:
        return await asyncio.to_thread(
            lambda: log.read_text(errors="replace") if log.exists() else ""
        )

    start = time.perf_counter()
    try:
        await virsh("create", str(xml))
        running = (time.perf_counter() - start) * 1000
        boot = await console_timings(read_log, start)
    finally:
        await virsh("destroy", name)
    return msgspec.structs.replace(boot, running_ms=running)


async def real_guest(boots: int) -> RealGuest:
    """(d): one cold boot through the API (the host fetches the image into its cache),
    then `boots` pairs, bare and API alternately."""
    guest = build_guest()
    async with running_kumo(
        KUMO_ADMIN_PASSWORD=PASSWORD,
        KUMO_LIBVIRT_URI=SYSTEM_URI,
        KUMO_PASSWORD_HASH_ROUNDS="4",
        KUMO_LOG_LEVEL="WARNING",
    ) as kumo:
        kumo.data_dir.chmod(0o755)  # qemu runs as libvirt-qemu and must reach the disks
        bare_folder = kumo.data_dir / "bare"
        bare_folder.mkdir(mode=0o755)
        pool = await create_pool(kumo.database_url, min_size=1, max_size=4)
        arrivals = Arrivals(kumo_store(pool))
        watcher = asyncio.create_task(arrivals.run())
        try:
            async with aiohttp.ClientSession(base_url=kumo.url) as http:
                api, _ = await admin_api(http)
                image = await upload_image(api, guest.disk)
                progress("(d) a cold boot through the API")
                cold, template = await api_boot(api, arrivals, image, "d-cold")
                api_boots, bare_boots = [], []
                for i in range(boots):
                    progress(f"(d) boot {i + 1} of {boots}: bare, then through the API")
                    bare_boots.append(
                        await bare_boot(template, bare_folder, f"kumo-bench-bare-{i}")
                    )
                    api_boots.append((await api_boot(api, arrivals, image, f"d{i}"))[0])
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
            await pool.close()
    left = await virsh("list", "--all", "--name")
    assert not left.strip(), f"domains left in libvirt: {left}"
    return RealGuest(cold=cold, api=api_boots, bare=bare_boots)


def report(f: Figures) -> None:
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    print(f"\nKumo compute benchmark, {when}; load average {f.load_before} -> {f.load_after}")
    checks = []
    if (a := f.overhead) is not None:
        print(f"(a) test:///default: bare libvirt define+create p50 {a.bare_ms} ms;")
        print(f"    POST -> ACTIVE p50 {a.api_to_active_p50_ms} ms;")
        print(f"    overhead p50 {a.overhead_p50_ms} ms, p99 {a.overhead_p99_ms} ms;")
        print(f"    CPU per server: kumo {a.kumo_cpu_ms} ms, Postgres {a.postgres_cpu_ms} ms")
        checks.append(("(a) overhead p50 < 20 ms", a.overhead_p50_ms < 20))
    if (b := f.burst) is not None:
        print(f"(b) {b.requested} requested by 50 clients, quota {b.quota}:")
        print(f"    {b.accepted} accepted, {b.servers_per_s} servers/s to ACTIVE;")
        print(f"    instances taken by the burst: {b.usage_after}")
        checks.append(("(b) >= 50 servers/s", b.servers_per_s >= 50))
        checks.append(("(b) quota never overshot", b.accepted <= b.quota >= b.usage_after))
    if (c := f.detail) is not None:
        print(f"(c) GET /servers/detail?limit=1000 with {c.servers} servers: p50 {c.p50_ms} ms")
        print(f"    with the client's decoding of the JSON: p50 {c.p50_decoded_ms} ms")
        print(f"    the first of the 20 (no document rendered yet): {c.first_ms} ms")
        checks.append(("(c) detail page < 100 ms", c.p50_ms < 100))
    if (d := f.real_guest) is not None:
        print(f"(d) {SYSTEM_URI}, tiny guest, {len(d.api)} boots each (ms, p50 / max):")
        for label, field in (
            ("running (ACTIVE / virsh create)", "running_ms"),
            ("first console line", "first_line_ms"),
            (f"ready ({MARKER})", "ready_ms"),
        ):
            api_ = [getattr(x, field) for x in d.api]
            bare = [getattr(x, field) for x in d.bare]
            print(
                f"    {label}: API {percentile(api_, 50):.0f} / {max(api_):.0f};"
                f" bare {percentile(bare, 50):.0f} / {max(bare):.0f};"
                f" cold API {getattr(d.cold, field):.0f}"
            )
        print(f"    first line: API {d.api[0].first_line!r}, bare {d.bare[0].first_line!r}")
    for name, ok in checks:
        print(f"{'PASS' if ok else 'MISS'}  {name}")
    print(msgspec.json.encode(f).decode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="abcd", help="which of a, b, c, d to run")
    parser.add_argument("--servers", type=int, default=200)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--boots", type=int, default=3, help="(d) boots of each kind")
    args = parser.parse_args()
    if not args.parts or set(args.parts) - set("abcd"):
        parser.error("--parts takes letters of abcd")
    report(asyncio.run(run(args.parts, args.servers, args.burst, args.boots)))


if __name__ == "__main__":
    main()
