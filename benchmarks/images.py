"""Image data benchmark (issue 4), over HTTP on loopback against a real `kumo up`: one
`PUT /v2/images/{id}/file` then one `GET` of 100 MiB and of 1 GiB, streamed on one
connection, with the server's peak RSS during each; in the same run, the raw rate of the
same bytes as the baseline (local: a plain file written in 1 MiB chunks, fsynced and
renamed, then read back; S3: raw aiobotocore multipart put and streamed get to the same
moto server).

Each download is made three times, by clients of different cost: aiohttp's (1 MiB
pieces, what this benchmark always used), curl into /dev/null, and a plain socket reading
into one reused buffer; the upload and each download with the server's CPU seconds per GiB.

Usage: python -m benchmarks.images [--sizes-mib 100,1024] [--backends local,s3]
Targets (the issue's): API throughput >= 80 % of raw; peak RSS of the server not growing
with size. Also measured in the same run, as the physical bounds of this machine: the
hashing floor, md5 and sha512 of the same bytes each in its own thread as the service
computes them, with no I/O at all (no upload, which must compute both, can be faster);
and the download ceiling, the raw bytes read by the plain-socket client from the barest
server there is: a bare os.sendfile of the file (local), a bare relay of the S3 object
(benchmarks/relay.py); no download over HTTP on loopback can be faster with that client.
"""

import argparse
import asyncio
import functools
import hashlib
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import aiohttp
import msgspec

from benchmarks.harness import fresh_database, progress, server_url, start_kumo
from benchmarks.relay import relay_get, s3_client
from benchmarks.transfer import (
    CHUNK,
    Download,
    MiB,
    RssSampler,
    Transfer,
    costed,
    downloads,
    loopback_get,
    settle_cache,
    socket_put,
    timed,
)
from service.embedded_postgres import free_port
from service.image.stored_data import IMAGE_HASHES
from tests.integration.storage.conftest import wait_until_answers

PART = 8 * MiB  # the S3 backend's part size
PASSWORD = "bench-admin-1"
BLOCK = secrets.token_bytes(CHUNK)  # repeated: generating the bytes costs nothing


class Figures(msgspec.Struct):
    backend: str
    size_mib: int
    api_puts: list[Download]
    api_gets: list[Download]
    raw_put: Transfer
    raw_get: Transfer
    rss_before_mib: float
    rss_peak_mib: float
    hashing: Transfer
    ceiling: Transfer | None = None
    """The raw bytes read by the socket reader from a bare sendfile of their file (local)
    or a bare relay of their S3 object (s3)."""


def hashing_floor(size: int) -> Transfer:
    """md5 and sha512 of `size` bytes, each in its own thread at once as an upload
    computes them, no I/O: the most an image upload can reach on this machine."""

    def digest(name: str) -> None:
        hash_ = hashlib.new(name)
        for offset in range(0, size, CHUNK):
            hash_.update(BLOCK[: min(CHUNK, size - offset)])

    start = time.perf_counter()
    with ThreadPoolExecutor(len(IMAGE_HASHES)) as pool:
        list(pool.map(digest, IMAGE_HASHES))
    seconds = time.perf_counter() - start
    return Transfer(mib_per_s=round(size / MiB / seconds, 1), seconds=round(seconds, 2))


async def pattern(size: int) -> AsyncIterator[bytes]:
    sent = 0
    while sent < size:
        chunk = BLOCK[: min(CHUNK, size - sent)]
        sent += len(chunk)
        yield chunk


async def admin_token(url: str) -> str:
    scope = {"project": {"name": "admin", "domain": {"id": "default"}}}
    user = {"name": "admin", "domain": {"id": "default"}, "password": PASSWORD}
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": user}},
                     "scope": scope}}  # fmt: skip
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{url}/identity/v3/auth/tokens", json=body) as response:
            assert response.status == 201, await response.text()
            return response.headers["X-Subject-Token"]


async def api_transfers(
    url: str, token: str, size: int, pid: int, cold: bool
) -> tuple[list[Download], Transfer, list[Download], float, float]:
    """Create an image per upload client (aiohttp's, a plain socket), upload `size` bytes
    into each, download them with each client, delete the images: the puts, the hashing
    floor (measured right before and right after the first put, the mean of both: the
    machine's load drifts), the gets, and the server's RSS before and at its peak (MiB)."""
    headers = {"X-Auth-Token": token}
    images = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None)) as http:
        for client in ("aiohttp", "socket"):
            async with http.post(f"{url}/image/v2/images", headers=headers, json={
                "name": f"bench-{size}-{client}", "disk_format": "raw",
                "container_format": "bare",
            }) as response:  # fmt: skip
                assert response.status == 201, await response.text()
                images.append(f"{url}/image/v2/images/{(await response.json())['id']}")
        sent = {**headers, "Content-Type": "application/octet-stream"}

        async def put() -> None:
            length = {**sent, "Content-Length": str(size)}
            async with http.put(f"{images[0]}/file", data=pattern(size), headers=length) as reply:
                assert reply.status == 204, await reply.text()

        with RssSampler(pid) as rss:
            before = hashing_floor(size)
            puts = [await costed("aiohttp", put, size, pid)]
            after = hashing_floor(size)
            plain = functools.partial(socket_put, f"{images[1]}/file", sent, BLOCK, size)
            puts.append(await costed("socket", lambda: asyncio.to_thread(plain), size, pid))
            get_figures = await downloads(f"{images[0]}/file", headers, size, pid, cold=cold)
        for image in images:
            async with http.delete(image, headers=headers) as response:
                assert response.status == 204
    floor = Transfer(
        mib_per_s=round((before.mib_per_s + after.mib_per_s) / 2, 1),
        seconds=round((before.seconds + after.seconds) / 2, 2),
    )
    return puts, floor, get_figures, round(rss.before / MiB, 1), round(rss.peak / MiB, 1)


async def raw_local(folder: Path, size: int, cold: bool) -> tuple[Transfer, Transfer, Transfer]:
    """The same bytes as a plain file: written, fsynced, renamed; then read back; then
    sent over loopback by a bare sendfile (`loopback_get`)."""
    path, temporary = folder / "raw.bin", folder / "~raw.tmp"

    async def put() -> None:
        with temporary.open("wb") as file:
            async for chunk in pattern(size):
                file.write(chunk)
            file.flush()
            os.fsync(file.fileno())
        temporary.rename(path)

    async def get() -> None:
        got = 0
        with path.open("rb") as file:
            while chunk := file.read(CHUNK):
                got += len(chunk)
        assert got == size

    put_figure = await timed(put, size)
    await settle_cache(cold)
    get_figure = await timed(get, size)
    await settle_cache(cold)
    with path.open("rb") as file:
        loopback = await asyncio.to_thread(loopback_get, file.fileno(), size)
    path.unlink()
    return put_figure, get_figure, loopback


async def raw_s3(endpoint: str, bucket: str, size: int) -> tuple[Transfer, Transfer, Transfer]:
    """The same bytes to the same moto server: multipart in 8 MiB parts, streamed get,
    then read through a bare relay (`relay_get`)."""
    async with s3_client(endpoint) as s3:  # it checks what Kumo's backend checks
        key = "raw.bin"

        async def put() -> None:
            upload_id = (await s3.create_multipart_upload(Bucket=bucket, Key=key))["UploadId"]
            parts: list[dict[str, object]] = []
            buffer = bytearray()

            async def send() -> None:
                number = len(parts) + 1
                sent = await s3.upload_part(Bucket=bucket, Key=key, PartNumber=number,
                                            UploadId=upload_id, Body=bytes(buffer))  # fmt: skip
                parts.append({"PartNumber": number, "ETag": sent["ETag"]})
                buffer.clear()

            async for chunk in pattern(size):
                buffer += chunk
                if len(buffer) >= PART:
                    await send()
            if buffer:
                await send()
            await s3.complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )

        async def get() -> None:
            got = 0
            response = await s3.get_object(Bucket=bucket, Key=key)
            async with response["Body"] as body:
                while chunk := await body.read(CHUNK):
                    got += len(chunk)
            assert got == size

        put_figure, get_figure = await timed(put, size), await timed(get, size)
        relayed = await asyncio.to_thread(relay_get, endpoint, bucket, key, size)
        await s3.delete_object(Bucket=bucket, Key=key)
    return put_figure, get_figure, relayed


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    wait_until_answers(url, process)
    return process, url


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def run(sizes: list[int], backends: list[str], cold: bool) -> list[Figures]:
    results: list[Figures] = []
    server, cluster = server_url()
    moto: subprocess.Popen[bytes] | None = None
    try:
        if "s3" in backends:
            moto, moto_url = start_moto()
        for backend in backends:
            bucket = f"kumo-bench-{secrets.token_hex(4)}"
            env = {"KUMO_ADMIN_PASSWORD": PASSWORD}
            if backend == "s3":
                env |= {"KUMO_OBJECT_BACKEND": "s3", "KUMO_S3_BUCKET": bucket,
                        "KUMO_S3_ENDPOINT_URL": moto_url, "KUMO_S3_ACCESS_KEY_ID": "testing",
                        "KUMO_S3_SECRET_ACCESS_KEY": "testing"}  # fmt: skip
            async with fresh_database(server) as database_url:
                with tempfile.TemporaryDirectory(dir=Path.cwd() / ".kumo") as data_dir:
                    process, url = start_kumo(database_url, data_dir, **env)
                    try:
                        token = await admin_token(url)
                        for size in sizes:
                            progress(f"{backend}: API put/get of {size // MiB} MiB")
                            puts, floor, gets, before, peak = await api_transfers(
                                url, token, size, process.pid, cold
                            )
                            progress(f"{backend}: raw put/get of {size // MiB} MiB")
                            if backend == "s3":
                                raw_put, raw_get, ceiling = await raw_s3(moto_url, bucket, size)
                            else:
                                raw_put, raw_get, ceiling = await raw_local(
                                    Path(data_dir), size, cold
                                )
                            figures = Figures(
                                backend,
                                size // MiB,
                                puts,
                                gets,
                                raw_put,
                                raw_get,
                                before,
                                peak,
                                floor,
                                ceiling,
                            )
                            results.append(figures)
                    finally:
                        stop(process)
    finally:
        if moto is not None:
            stop(moto)
        if cluster is not None:
            cluster.stop()
    return results


def report(results: list[Figures], load_before: tuple[float, ...]) -> None:
    load_after = os.getloadavg()
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    print("\nUpload by client (Content-Length) against the raw write and the hashing floor:")
    print(
        "| backend | size | client | API put MiB/s | server / client CPU s/GiB | raw put MiB/s "
        "| of raw (target 80 %) | hashing floor MiB/s | of floor | server RSS before → peak MiB |"
    )
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for f in results:
        floor = f.hashing.mib_per_s
        for put in f.api_puts:
            print(
                f"| {f.backend} | {f.size_mib} MiB | {put.client} | {put.mib_per_s}"
                f" | {put.server_cpu_per_gib} / {put.client_cpu_per_gib} | {f.raw_put.mib_per_s}"
                f" | {_verdict(put.mib_per_s, f.raw_put.mib_per_s)} | {floor}"
                f" | {put.mib_per_s / floor:.0%} | {f.rss_before_mib} → {f.rss_peak_mib} |"
            )
    print("\nDownload by client against the raw read and the ceiling (bare sendfile or relay):")
    print(
        "| backend | size | client | API get MiB/s | raw get MiB/s | of raw (target 80 %) "
        "| ceiling MiB/s | of ceiling | server CPU s/GiB | client CPU s/GiB |"
    )
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for f in results:
        ceiling = f.ceiling.mib_per_s if f.ceiling else None
        for get in f.api_gets:
            print(
                f"| {f.backend} | {f.size_mib} MiB | {get.client} | {get.mib_per_s}"
                f" | {f.raw_get.mib_per_s} | {_verdict(get.mib_per_s, f.raw_get.mib_per_s)}"
                f" | {ceiling or '-'} | {f'{get.mib_per_s / ceiling:.0%}' if ceiling else '-'}"
                f" | {get.server_cpu_per_gib} | {get.client_cpu_per_gib} |"
            )
    print("\nPhysical bounds measured in this run, next to the raw baselines:")
    for f in results:
        floor = f.hashing.mib_per_s
        line = (
            f"- {f.backend} {f.size_mib} MiB: raw put {f.raw_put.mib_per_s} MiB/s; md5 ∥ "
            f"sha512 alone {floor} MiB/s = {floor / f.raw_put.mib_per_s:.0%} of it, the most "
            "any upload can reach"
        )
        cores = os.cpu_count() or 1
        for put in f.api_puts:
            cpu = put.server_cpu_per_gib + put.client_cpu_per_gib
            line += (
                f"; the {put.client} upload took {cpu:.2f} CPU s/GiB (server + client), so"
                f" {1024 / (cpu / cores):.0f} MiB/s at most on {cores} cores"
            )
        if f.ceiling:
            ceiling = f.ceiling.mib_per_s
            barest = "sendfile over loopback" if f.backend == "local" else "relay from S3"
            line += (
                f"; raw read {f.raw_get.mib_per_s} MiB/s; bare {barest} "
                f"{ceiling} MiB/s = {ceiling / f.raw_get.mib_per_s:.0%} of it, the most any "
                "download over HTTP can reach"
            )
        print(line)
    for backend in dict.fromkeys(f.backend for f in results):
        peaks = [f.rss_peak_mib - f.rss_before_mib for f in results if f.backend == backend]
        flat = "PASS" if max(peaks) - min(peaks) < 32 else "MISS"
        growth = ", ".join(f"{peak:+.1f}" for peak in peaks)
        print(f"- {backend}: RSS growth during each size {growth} MiB: flat (within 32 MiB) {flat}")


def _verdict(api: float, raw: float) -> str:
    return f"{api / raw:.0%} {'PASS' if api >= 0.8 * raw else 'MISS'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes-mib", default="100,1024")
    parser.add_argument("--backends", default="local,s3")
    parser.add_argument(
        "--cold",
        action="store_true",
        help="empty the page cache before each download (raw and API): reads from the disk",
    )
    args = parser.parse_args()
    sizes = [int(s) * MiB for s in args.sizes_mib.split(",")]
    load_before = os.getloadavg()
    results = asyncio.run(run(sizes, args.backends.split(","), args.cold))
    if args.cold:
        print("downloads from the disk: the page cache emptied before each (--cold)")
    report(results, load_before)


if __name__ == "__main__":
    main()
