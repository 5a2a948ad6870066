"""Image data benchmark (issue 4), over HTTP on loopback against a real `kumo up`: one
`PUT /v2/images/{id}/file` then one `GET` of 100 MiB and of 1 GiB, streamed on one
connection, with the server's peak RSS during each; in the same run, the raw rate of the
same bytes as the baseline (local: a plain file written in 1 MiB chunks, fsynced and
renamed, then read back; S3: raw aiobotocore multipart put and streamed get to the same
moto server).

Each download is made three times, by clients of different cost: aiohttp's (1 MiB
pieces, what this benchmark always used), curl into /dev/null, and a plain socket reading
into one reused buffer; each with the server's CPU seconds per GiB.

Usage: python -m benchmarks.images [--sizes-mib 100,1024] [--backends local,s3]
Targets: API throughput >= 80 % of raw; peak RSS of the server not growing with size.
Also measured, as the ceiling of any upload on this machine: md5 and sha512 of the same
bytes, each in its own thread as the service computes them, with no I/O at all.
"""

import argparse
import asyncio
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
from aiobotocore.session import get_session

from benchmarks.harness import fresh_database, progress, server_url, start_kumo
from benchmarks.transfer import (
    CHUNK,
    Download,
    MiB,
    RssSampler,
    Transfer,
    downloads,
    loopback_get,
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
    api_put: Transfer
    api_gets: list[Download]
    raw_put: Transfer
    raw_get: Transfer
    rss_before_mib: float
    rss_peak_mib: float
    hashing: Transfer
    loopback: Transfer | None = None
    """The raw file sent over loopback by a bare sendfile and read by the socket reader."""


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
    url: str, token: str, size: int, pid: int
) -> tuple[Transfer, list[Download], float, float]:
    """Create an image, upload `size` bytes, download them with each client, delete the
    image: the put, the gets, and the server's RSS before and at its peak (MiB)."""
    headers = {"X-Auth-Token": token}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None)) as http:
        async with http.post(f"{url}/image/v2/images", headers=headers, json={
            "name": f"bench-{size}", "disk_format": "raw", "container_format": "bare",
        }) as response:  # fmt: skip
            assert response.status == 201, await response.text()
            image = f"{url}/image/v2/images/{(await response.json())['id']}"

        async def put() -> None:
            sent = {**headers, "Content-Type": "application/octet-stream",
                    "Content-Length": str(size)}  # fmt: skip
            async with http.put(f"{image}/file", data=pattern(size), headers=sent) as response:
                assert response.status == 204, await response.text()

        with RssSampler(pid) as rss:
            put_figure = await timed(put, size)
            get_figures = await downloads(f"{image}/file", headers, size, pid)
        async with http.delete(image, headers=headers) as response:
            assert response.status == 204
    return put_figure, get_figures, round(rss.before / MiB, 1), round(rss.peak / MiB, 1)


async def raw_local(folder: Path, size: int) -> tuple[Transfer, Transfer, Transfer]:
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

    put_figure, get_figure = await timed(put, size), await timed(get, size)
    with path.open("rb") as file:
        loopback = await asyncio.to_thread(loopback_get, file.fileno(), size)
    path.unlink()
    return put_figure, get_figure, loopback


async def raw_s3(endpoint: str, bucket: str, size: int) -> tuple[Transfer, Transfer]:
    """The same bytes to the same moto server: multipart in 8 MiB parts, streamed get."""
    session = get_session()
    async with session.create_client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ) as s3:  # fmt: skip
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

        figures = await timed(put, size), await timed(get, size)
        await s3.delete_object(Bucket=bucket, Key=key)
    return figures


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


async def run(sizes: list[int], backends: list[str]) -> list[Figures]:
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
                            put, gets, before, peak = await api_transfers(
                                url, token, size, process.pid
                            )
                            progress(f"{backend}: raw put/get of {size // MiB} MiB")
                            loopback = None
                            if backend == "s3":
                                raw_put, raw_get = await raw_s3(moto_url, bucket, size)
                            else:
                                raw_put, raw_get, loopback = await raw_local(Path(data_dir), size)
                            floor = hashing_floor(size)
                            figures = Figures(
                                backend,
                                size // MiB,
                                put,
                                gets,
                                raw_put,
                                raw_get,
                                before,
                                peak,
                                floor,
                                loopback,
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
    print(
        "| backend | size | API put MiB/s | raw put MiB/s | put ratio | raw get MiB/s "
        "| server RSS before → peak MiB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    floors = []
    for f in results:
        put_ratio = f.api_put.mib_per_s / f.raw_put.mib_per_s
        print(
            f"| {f.backend} | {f.size_mib} MiB | {f.api_put.mib_per_s} | {f.raw_put.mib_per_s}"
            f" | {put_ratio:.0%} | {f.raw_get.mib_per_s}"
            f" | {f.rss_before_mib} → {f.rss_peak_mib} |"
        )
        floor = f.hashing.mib_per_s
        floors.append(
            f"{f.backend} {f.size_mib} MiB: md5 ∥ sha512 alone {floor} MiB/s ="
            f" {floor / f.raw_put.mib_per_s:.0%} of raw put; API put {f.api_put.mib_per_s}"
            f" = {f.api_put.mib_per_s / floor:.0%} of that floor"
        )
    print(
        "\nAPI get by client (CPU seconds per GiB of the server and of the client; loopback:"
        " the raw file by a bare sendfile to the socket reader):"
    )
    print(
        "| backend | size | client | API get MiB/s | of raw get | of loopback "
        "| server CPU s/GiB | client CPU s/GiB |"
    )
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    for f in results:
        loopback = f"{f.loopback.mib_per_s} MiB/s" if f.loopback else "-"
        for get in f.api_gets:
            of_loopback = f"{get.mib_per_s / f.loopback.mib_per_s:.0%}" if f.loopback else "-"
            print(
                f"| {f.backend} | {f.size_mib} MiB | {get.client} | {get.mib_per_s}"
                f" | {get.mib_per_s / f.raw_get.mib_per_s:.0%} | {of_loopback} of {loopback}"
                f" | {get.server_cpu_per_gib} | {get.client_cpu_per_gib} |"
            )
    print("\nHashing floor (the most any upload can reach here):")
    print("\n".join(floors))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes-mib", default="100,1024")
    parser.add_argument("--backends", default="local,s3")
    args = parser.parse_args()
    sizes = [int(s) * MiB for s in args.sizes_mib.split(",")]
    load_before = os.getloadavg()
    results = asyncio.run(run(sizes, args.backends.split(",")))
    report(results, load_before)


if __name__ == "__main__":
    main()
