"""Object storage benchmark (issue 5), over HTTP on loopback against a real `kumo up`:
PUT and GET of 4 KiB objects with 64 concurrent clients (ops/s, p50/p99), and
single-stream PUT and GET throughput of one large object (1 GiB) with the server's peak
RSS; in the same run, the backend's raw rate as the baseline (local: LocalFsBackend in
this process, the same files, fsyncs and md5 Kumo does; S3: raw aiobotocore to a moto
server).

The small phases also report the CPU time (user + system) per request of the server, of
the Postgres cluster (when it runs on this machine) and of the load generator. The
large GET is made by three clients of different cost (aiohttp's, curl into /dev/null, a
plain socket into one reused buffer), each with the server's CPU seconds per GiB; and
next to the raw read, the ceiling of any server on this machine: the raw bytes read by
the socket client from a bare sendfile of the file (local) or from a bare relay of the
S3 object (benchmarks/relay.py).

Kumo runs with KUMO_WORKERS=--workers (default: one per core), so the server's figures
are those of `kumo up` and its HTTP workers together.

Usage: python -m benchmarks.objects [--seconds N] [--large-mib M] [--backends local,s3]
       [--workers W]
Targets on this 2-core machine (local backend): small PUT >= 1,000/s, GET >= 2,000/s;
large-object throughput >= 80 % of raw with flat memory.
"""

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import msgspec
import psutil

from benchmarks.compute import tree_cpu_seconds
from benchmarks.harness import (
    ROOT,
    fresh_database,
    percentile,
    progress,
    server_url,
    start_kumo,
)
from benchmarks.loadgen import LoadResult, drive
from benchmarks.relay import relay_get, s3_client
from benchmarks.transfer import (
    CHUNK,
    Download,
    MiB,
    RssSampler,
    Transfer,
    cpu_seconds,
    downloads,
    loopback_get,
    settle_cache,
    timed,
)
from service.embedded_postgres import free_port
from service.objects.api.common import OBJECT_HASHES
from service.storage.localfs import LocalFsBackend

PASSWORD = "bench-admin-pw"
SMALL = 4096
CLIENTS = 64
BUCKET = "kumo-bench-raw"


class Large(msgspec.Struct):
    """One large object's PUT and GET (Kumo's: aiohttp's client), and Kumo's GET by each
    client."""

    put: Transfer
    get: Transfer
    rss_before_mib: float = 0.0
    rss_peak_mib: float = 0.0
    gets: list[Download] = msgspec.field(default_factory=list)
    ceiling: Transfer | None = None
    """The raw object read by the socket reader from the barest server there is: a bare
    sendfile of its file (local), a bare relay from the S3 server (s3)."""


class Small(msgspec.Struct):
    """One small-object phase: the load's figures and the server's and Postgres's CPU
    per request (the load generator's is in `load`)."""

    load: LoadResult
    cpu_ms: float
    postgres_cpu_ms: float | None


class Figures(msgspec.Struct):
    backend: str
    large_mib: int
    put: Small
    get: Small
    raw_put: LoadResult
    raw_get: LoadResult
    large: Large
    raw_large: Large


# --- load over HTTP -------------------------------------------------------------------


async def admin_account(url: str) -> tuple[str, str]:
    """The admin's token and Swift account URL."""
    body = {
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
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{url}/identity/v3/auth/tokens", json=body) as response:
            assert response.status == 201, await response.text()
            token = response.headers["X-Subject-Token"]
            project = (await response.json())["token"]["project"]["id"]
    return token, f"{url}/object/v1/AUTH_{project}"


async def pattern(size: int) -> AsyncIterator[bytes]:
    block = os.urandom(CHUNK)
    for offset in range(0, size, CHUNK):
        yield block[: min(CHUNK, size - offset)]


async def kumo_large(account: str, token: str, size: int, pid: int, cold: bool) -> Large:
    """One PUT of `size` bytes, streamed, then GETs of them by each client (from the
    disk when `cold`)."""
    url = f"{account}/large/big.bin"
    headers = {"X-Auth-Token": token}
    timeout = aiohttp.ClientTimeout(total=None)
    async with aiohttp.ClientSession(timeout=timeout) as http:

        async def put() -> None:
            sent = {**headers, "Content-Length": str(size)}
            async with http.put(url, data=pattern(size), headers=sent) as response:
                assert response.status == 201, await response.text()

        async with http.put(f"{account}/large", headers=headers) as response:
            assert response.status in (201, 202)
        with RssSampler(pid) as rss:
            put_figure = await timed(put, size)
            gets = await downloads(url, headers, size, pid, cold=cold)
    get = Transfer(gets[0].mib_per_s, gets[0].seconds)
    return Large(put_figure, get, round(rss.before / MiB, 1), round(rss.peak / MiB, 1), gets)


async def postmaster(database_url: str) -> psutil.Process | None:
    """The Postgres cluster's postmaster, when it runs on this machine."""
    conn = await asyncpg.connect(database_url)
    try:
        backend = await conn.fetchval("SELECT pg_backend_pid()")
        # While the connection is open: its backend exits once it closes.
        return psutil.Process(backend).parent()
    except psutil.NoSuchProcess:  # a backend of a server elsewhere
        return None
    finally:
        await conn.close()


def measured(pid: int, cluster: psutil.Process | None, phase: Callable[[], LoadResult]) -> Small:
    """Run one load phase; its figures and the server's and Postgres's CPU ms per request."""
    before = cpu_seconds(pid), tree_cpu_seconds(cluster) if cluster else 0.0
    load = phase()
    cpu = cpu_seconds(pid) - before[0]
    per_request = 1000 / max(load.requests, 1)
    postgres = None
    if cluster is not None:
        postgres = round((tree_cpu_seconds(cluster) - before[1]) * per_request, 3)
    return Small(load, round(cpu * per_request, 3), postgres)


async def kumo_small(
    account: str, token: str, seconds: float, pid: int, cluster: psutil.Process | None
) -> tuple[Small, Small]:
    """4 KiB PUTs of new objects, then GETs of those, CLIENTS connections each."""
    auth = f"X-Auth-Token: {token}"
    async with aiohttp.ClientSession() as http:
        async with http.put(f"{account}/small", headers={"X-Auth-Token": token}) as response:
            assert response.status in (201, 202)
    progress(f"kumo: PUT 4 KiB, {CLIENTS} clients for {seconds:.0f}s")
    body = os.urandom(SMALL)
    put = measured(
        pid,
        cluster,
        lambda: drive(
            f"{account}/small/o{{n}}",
            concurrency=CLIENTS,
            method="PUT",
            seconds=seconds,
            expect=201,
            headers=[auth, "Content-Type: application/octet-stream"],
            body=body,
        ),
    )
    progress(f"kumo: GET 4 KiB, {CLIENTS} clients for {seconds:.0f}s")
    get = measured(
        pid,
        cluster,
        lambda: drive(
            f"{account}/small/o{{n}}",
            concurrency=CLIENTS,
            method="GET",
            seconds=seconds,
            expect=200,
            headers=[auth],
            cycle=put.load.requests - put.load.errors,
        ),
    )
    return put, get


# --- raw baselines --------------------------------------------------------------------


async def closed_loop(operation: Callable[[int], Awaitable[None]], seconds: float) -> LoadResult:
    """CLIENTS tasks calling operation(n) one after another for `seconds`."""
    latencies: list[float] = []
    errors = 0
    sequence = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal errors, sequence
        while time.perf_counter() < deadline:
            n, sequence = sequence, sequence + 1
            started = time.perf_counter()
            try:
                await operation(n)
            except Exception:
                errors += 1
            latencies.append((time.perf_counter() - started) * 1000)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CLIENTS)))
    elapsed = time.perf_counter() - start
    return LoadResult(
        len(latencies),
        errors,
        round(elapsed, 3),
        round(len(latencies) / elapsed, 1),
        round(percentile(latencies, 50), 3),
        round(percentile(latencies, 99), 3),
    )


async def raw_local(
    root: Path, seconds: float, size: int, cold: bool
) -> tuple[LoadResult, LoadResult, Large]:
    body = os.urandom(SMALL)

    async def once() -> AsyncIterator[bytes]:
        yield body

    async with LocalFsBackend(root) as backend:

        async def put(n: int) -> None:
            await backend.put(f"raw/small/o{n}", once(), size_hint=SMALL, hashes=OBJECT_HASHES)

        written = 0

        async def get(n: int) -> None:
            async with await backend.get(f"raw/small/o{n % written}") as reader:
                async for _ in reader:
                    pass

        progress(f"raw local: put/get 4 KiB, {CLIENTS} tasks for {seconds:.0f}s each")
        put_result = await closed_loop(put, seconds)
        written = put_result.requests - put_result.errors
        get_result = await closed_loop(get, seconds)

        async def put_large() -> None:
            await backend.put("raw/big.bin", pattern(size), size_hint=size, hashes=OBJECT_HASHES)

        async def get_large() -> None:
            async with await backend.get("raw/big.bin") as reader:
                async for _ in reader:
                    pass

        progress(f"raw local: {size // MiB} MiB put and get")
        put_figure = await timed(put_large, size)
        await settle_cache(cold)
        large = Large(put_figure, await timed(get_large, size))
        async with await backend.get("raw/big.bin") as reader:
            if reader.fileno is not None:  # none for an object of one chunk, read at once
                await settle_cache(cold)
                large.ceiling = await asyncio.to_thread(loopback_get, reader.fileno, size)
    return put_result, get_result, large


async def raw_s3(endpoint: str, seconds: float, size: int) -> tuple[LoadResult, LoadResult, Large]:
    body = os.urandom(SMALL)
    async with s3_client(endpoint) as s3:  # it checks what Kumo's backend checks
        await s3.create_bucket(Bucket=BUCKET)

        async def put(n: int) -> None:
            await s3.put_object(Bucket=BUCKET, Key=f"small/o{n}", Body=body)

        written = 0

        async def get(n: int) -> None:
            response = await s3.get_object(Bucket=BUCKET, Key=f"small/o{n % written}")
            async with response["Body"] as stream:
                await stream.read()

        progress(f"raw S3: put/get 4 KiB, {CLIENTS} tasks for {seconds:.0f}s each")
        put_result = await closed_loop(put, seconds)
        written = put_result.requests - put_result.errors
        get_result = await closed_loop(get, seconds)

        async def put_large() -> None:
            part_size = 8 * MiB
            upload = await s3.create_multipart_upload(Bucket=BUCKET, Key="big.bin")
            parts: list[Any] = []
            buffer, number = bytearray(), 1

            async def send(data: bytes) -> None:
                nonlocal number
                sent = await s3.upload_part(
                    Bucket=BUCKET,
                    Key="big.bin",
                    PartNumber=number,
                    UploadId=upload["UploadId"],
                    Body=data,
                )
                parts.append({"PartNumber": number, "ETag": sent["ETag"]})
                number += 1

            async for chunk in pattern(size):
                buffer += chunk
                if len(buffer) >= part_size:
                    await send(bytes(buffer))
                    buffer.clear()
            if buffer:
                await send(bytes(buffer))
            await s3.complete_multipart_upload(
                Bucket=BUCKET,
                Key="big.bin",
                UploadId=upload["UploadId"],
                MultipartUpload={"Parts": parts},
            )

        async def get_large() -> None:
            response = await s3.get_object(Bucket=BUCKET, Key="big.bin")
            async with response["Body"] as stream:
                while await stream.read(CHUNK):
                    pass

        progress(f"raw S3: {size // MiB} MiB put and get, and through a bare relay")
        large = Large(await timed(put_large, size), await timed(get_large, size))
        large.ceiling = await asyncio.to_thread(relay_get, endpoint, BUCKET, "big.bin", size)
    return put_result, get_result, large


# --- the run --------------------------------------------------------------------------


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return process, url
        except urllib.error.HTTPError:
            return process, url  # it answered, if only with an error
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the moto server did not start") from None
            time.sleep(0.2)


async def one_backend(
    kind: str,
    database_url: str,
    seconds: float,
    size: int,
    moto: str | None,
    workers: int,
    cold: bool,
) -> Figures:
    with tempfile.TemporaryDirectory(dir=ROOT / ".kumo") as data_dir:
        env = {
            "KUMO_ADMIN_PASSWORD": PASSWORD,
            "KUMO_LOG_LEVEL": "WARNING",
            "KUMO_WORKERS": str(workers),
        }
        if kind == "s3":
            assert moto is not None
            env |= {
                "KUMO_OBJECT_BACKEND": "s3",
                "KUMO_S3_BUCKET": "kumo-bench",
                "KUMO_S3_ENDPOINT_URL": moto,
                "KUMO_S3_ACCESS_KEY_ID": "testing",
                "KUMO_S3_SECRET_ACCESS_KEY": "testing",
            }
        process, url = start_kumo(database_url, data_dir, **env)
        try:
            token, account = await admin_account(url)
            cluster = await postmaster(database_url)
            put, get = await kumo_small(account, token, seconds, process.pid, cluster)
            progress(f"kumo ({kind}): {size // MiB} MiB PUT and GET, one stream")
            large = await kumo_large(account, token, size, process.pid, cold)
        finally:
            process.terminate()
            process.wait(timeout=30)
        if kind == "local":
            raw_put, raw_get, raw_large = await raw_local(
                Path(data_dir) / "raw", seconds, size, cold
            )
        else:
            assert moto is not None
            raw_put, raw_get, raw_large = await raw_s3(moto, seconds, size)
    return Figures(kind, size // MiB, put, get, raw_put, raw_get, large, raw_large)


async def run(
    seconds: float, large_mib: int, backends: list[str], workers: int, cold: bool
) -> list[Figures]:
    server, cluster = server_url()
    moto_process, moto = start_moto() if "s3" in backends else (None, None)
    figures = []
    try:
        for kind in backends:
            async with fresh_database(server) as database_url:
                figures.append(
                    await one_backend(
                        kind, database_url, seconds, large_mib * MiB, moto, workers, cold
                    )
                )
    finally:
        if moto_process is not None:
            moto_process.terminate()
            moto_process.wait(timeout=10)
        if cluster is not None:
            cluster.stop()
    return figures


def _cpu(phase: Small) -> str:
    postgres = "-" if phase.postgres_cpu_ms is None else f"{phase.postgres_cpu_ms:.2f}"
    return f"{phase.cpu_ms:.2f}, {postgres}, {phase.load.cpu_ms:.2f}"


def report(figures: list[Figures], load_before: float, workers: int) -> None:
    cores = os.cpu_count() or 1
    print(
        f"\nKumo object storage benchmark, {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())};"
        f" {cores} cores, load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after;"
        f" KUMO_WORKERS={workers} (server CPU and RSS: kumo up and its HTTP workers)"
    )
    checks = []
    for f in figures:
        print(f"\nbackend {f.backend}: {CLIENTS} clients, 4 KiB objects")
        print(
            f"{'operation':<22}{'per s':>10}{'p50 ms':>10}{'p99 ms':>10}"
            f"{'requests':>10}{'errors':>8}   CPU ms per request: server, Postgres, client"
        )
        for name, r, cpu in (
            ("PUT (kumo)", f.put.load, _cpu(f.put)),
            ("GET (kumo)", f.get.load, _cpu(f.get)),
            ("put (raw backend)", f.raw_put, ""),
            ("get (raw backend)", f.raw_get, ""),
        ):
            print(
                f"{name:<22}{r.per_s:>10,.1f}{r.p50_ms:>10.2f}{r.p99_ms:>10.2f}"
                f"{r.requests:>10,}{r.errors:>8}   {cpu}"
            )
        print(f"large object ({f.large_mib:,} MiB), one stream:")
        for name, k, raw in (
            ("PUT", f.large.put, f.raw_large.put),
            ("GET", f.large.get, f.raw_large.get),
        ):
            print(
                f"  {name}: kumo {k.mib_per_s:,.1f} MiB/s, raw {raw.mib_per_s:,.1f} MiB/s"
                f" ({k.mib_per_s / raw.mib_per_s:.0%} of raw)"
            )
        ceiling = f.raw_large.ceiling
        if ceiling is not None:
            barest = "sendfile" if f.backend == "local" else "relay from S3"
            print(
                f"  ceiling (a bare {barest} to the socket reader): {ceiling.mib_per_s:,.1f} MiB/s"
                f" ({ceiling.mib_per_s / f.raw_large.get.mib_per_s:.0%} of raw)"
            )
        for get in f.large.gets:
            of_ceiling = f", {get.mib_per_s / ceiling.mib_per_s:.0%} of ceiling" if ceiling else ""
            print(
                f"  GET by {get.client}: {get.mib_per_s:,.1f} MiB/s"
                f" ({get.mib_per_s / f.raw_large.get.mib_per_s:.0%} of raw{of_ceiling});"
                f" CPU per GiB: server {get.server_cpu_per_gib:.2f} s,"
                f" client {get.client_cpu_per_gib:.2f} s"
            )
        print(
            f"  server RSS: {f.large.rss_before_mib:,.1f} MiB before,"
            f" {f.large.rss_peak_mib:,.1f} MiB peak"
        )
        errors = f.put.load.errors + f.get.load.errors
        checks.append((f"{f.backend}: no errors", str(errors), errors == 0))
        ratio = f.large.put.mib_per_s / f.raw_large.put.mib_per_s
        checks.append((f"{f.backend}: large PUT >= 80% of raw", f"{ratio:.0%}", ratio >= 0.8))
        for get in f.large.gets:
            ratio = get.mib_per_s / f.raw_large.get.mib_per_s
            checks.append(
                (f"{f.backend}: large GET ({get.client}) >= 80%", f"{ratio:.0%}", ratio >= 0.8)
            )
        growth = f.large.rss_peak_mib - f.large.rss_before_mib
        checks.append(
            (f"{f.backend}: flat memory (< 64 MiB growth)", f"+{growth:.1f} MiB", growth < 64)
        )
        if f.backend == "local":
            checks.append(
                (
                    "local: small PUT >= 1,000/s",
                    f"{f.put.load.per_s:,.0f}/s",
                    f.put.load.per_s >= 1000,
                )
            )
            checks.append(
                (
                    "local: small GET >= 2,000/s",
                    f"{f.get.load.per_s:,.0f}/s",
                    f.get.load.per_s >= 2000,
                )
            )
    print()
    for name, value, ok in checks:
        print(f"{'PASS' if ok else 'MISS'}  {name:<40}{value}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--large-mib", type=int, default=1024)
    parser.add_argument("--backends", default="local,s3")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="KUMO_WORKERS (default: cores)"
    )
    parser.add_argument(
        "--cold",
        action="store_true",
        help="empty the page cache before each large read (raw and API): reads from the disk",
    )
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    backends = args.backends.split(",")
    figures = asyncio.run(run(args.seconds, args.large_mib, backends, args.workers, args.cold))
    if args.cold:
        print("large reads from the disk: the page cache emptied before each (--cold)")
    report(figures, load_before, args.workers)


if __name__ == "__main__":
    main()
