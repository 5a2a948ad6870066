"""A closed-loop HTTP load generator, run as its own process so it does not share the
server's interpreter: N connections each send one request after another for S seconds.

Usage: python -m benchmarks.loadgen URL --method GET --concurrency 32 --seconds 10
       [--header 'Name: value' ...] [--body-file F] [--expect 200] [--cycle K]
A `{n}` in URL becomes the request's sequence number (modulo K if given), so that each
request may name an object of its own.
Prints one JSON object: requests, errors, seconds, per_s, p50_ms, p99_ms.
"""

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time

import aiohttp
import msgspec

from benchmarks.harness import ROOT, percentile


class LoadResult(msgspec.Struct):
    requests: int
    errors: int
    seconds: float
    per_s: float
    p50_ms: float
    p99_ms: float


async def load(
    url: str,
    method: str,
    headers: dict[str, str],
    body: bytes | None,
    concurrency: int,
    seconds: float,
    expect: int,
    cycle: int | None = None,
) -> LoadResult:
    """Drive `concurrency` connections for `seconds`; responses other than `expect` count
    as errors."""
    latencies: list[float] = []
    errors = 0
    sequence = 0
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal errors, sequence
            while time.perf_counter() < deadline:
                n, sequence = sequence, sequence + 1
                target = url.replace("{n}", str(n % cycle if cycle else n))
                started = time.perf_counter()
                async with session.request(method, target, headers=headers, data=body) as response:
                    await response.read()
                    if response.status != expect:
                        errors += 1
                latencies.append((time.perf_counter() - started) * 1000)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return LoadResult(
        requests=len(latencies),
        errors=errors,
        seconds=round(elapsed, 3),
        per_s=round(len(latencies) / elapsed, 1),
        p50_ms=round(percentile(latencies, 50), 3),
        p99_ms=round(percentile(latencies, 99), 3),
    )


def drive(
    url: str,
    *,
    method: str,
    headers: list[str],
    seconds: float,
    expect: int,
    concurrency: int = 32,
    body: bytes | None = None,
    cycle: int | None = None,
) -> LoadResult:
    """This load generator run in a process of its own against `url`; its result."""
    argv = [sys.executable, "-m", "benchmarks.loadgen", url, "--method", method]
    argv += ["--concurrency", str(concurrency), "--seconds", str(seconds)]
    argv += ["--expect", str(expect)]
    if cycle:
        argv += ["--cycle", str(cycle)]
    for header in headers:
        argv += ["--header", header]
    with tempfile.NamedTemporaryFile() as file:
        if body is not None:
            file.write(body)
            file.flush()
            argv += ["--body-file", file.name]
        out = subprocess.run(argv, cwd=ROOT, capture_output=True, check=True).stdout
    return msgspec.json.decode(out, type=LoadResult)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--method", default="GET")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--body-file")
    parser.add_argument("--expect", type=int, default=200)
    parser.add_argument("--cycle", type=int)
    args = parser.parse_args()
    headers = dict(h.split(": ", 1) for h in args.header)
    body = open(args.body_file, "rb").read() if args.body_file else None
    result = asyncio.run(
        load(
            args.url,
            args.method,
            headers,
            body,
            args.concurrency,
            args.seconds,
            args.expect,
            args.cycle,
        )
    )
    sys.stdout.write(msgspec.json.encode(result).decode() + "\n")


if __name__ == "__main__":
    main()
