"""Dashboard benchmark (issue 8), over HTTP on loopback against a real `kumo up`: what the
dashboard's pass-through (`/dashboard/api/...`, session cookie -> token -> the real API on
the same server) adds to an API call, measured against the same call made directly with
the token in the same run; the time to serve a page's frame; and a 64 MiB object
download through the pass-through against the direct one.

Usage: python -m benchmarks.dashboard [--calls 400] [--concurrency 8]
Targets: the pass-through adds < 5 ms at p50 to a listing; a page frame p50 < 20 ms;
a download through it at >= 50 % of the direct rate.
"""

import argparse
import asyncio
import os
import re
import time
from collections.abc import Awaitable, Callable

import aiohttp
import msgspec

from benchmarks.harness import percentile, progress, running_kumo
from benchmarks.transfer import MiB

PASSWORD = "bench-admin-1"
OBJECT_MIB = 64


class Latency(msgspec.Struct):
    what: str
    p50_ms: float
    p99_ms: float
    per_second: float


async def measure(
    what: str, calls: int, concurrency: int, call: Callable[[], Awaitable[None]]
) -> Latency:
    """`calls` calls, `concurrency` at a time: latency percentiles and calls per second."""
    times: list[float] = []
    left = iter(range(calls))

    async def worker() -> None:
        for _ in left:
            start = time.perf_counter()
            await call()
            times.append((time.perf_counter() - start) * 1000)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    return Latency(what, percentile(times, 50), percentile(times, 99), calls / elapsed)


async def log_in(http: aiohttp.ClientSession, url: str) -> str:
    """Log in through the dashboard's form; the session's CSRF token."""
    async with http.get(f"{url}/dashboard/login") as page:
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', await page.text())
    assert csrf
    form = {
        "csrf_token": csrf[1],
        "domain": "Default",
        "username": "admin",
        "password": PASSWORD,
        "next": "/dashboard/overview",
    }
    async with http.post(f"{url}/dashboard/login", data=form) as answer:
        text = await answer.text()
    token = re.search(r'data-csrf="([^"]+)"', text)
    assert token, text[:500]
    return token[1]


async def admin_token(http: aiohttp.ClientSession, url: str) -> tuple[str, str]:
    user = {"name": "admin", "domain": {"id": "default"}, "password": PASSWORD}
    scope = {"project": {"name": "admin", "domain": {"id": "default"}}}
    body = {
        "auth": {"identity": {"methods": ["password"], "password": {"user": user}}, "scope": scope}
    }
    async with http.post(f"{url}/identity/v3/auth/tokens", json=body) as answer:
        project = (await answer.json())["token"]["project"]["id"]
        return answer.headers["X-Subject-Token"], project


async def download(http: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> float:
    """MiB/s of one streamed GET."""
    start = time.perf_counter()
    size = 0
    async with http.get(url, headers=headers) as answer:
        assert answer.status == 200
        async for chunk in answer.content.iter_chunked(MiB):
            size += len(chunk)
    return size / MiB / (time.perf_counter() - start)


async def main(calls: int, concurrency: int) -> None:
    async with running_kumo(KUMO_ADMIN_PASSWORD=PASSWORD, KUMO_PASSWORD_HASH_ROUNDS="4") as kumo:
        url = kumo.url
        timeout = aiohttp.ClientTimeout(total=None)
        jar = aiohttp.CookieJar(unsafe=True)  # the session cookie of a server at an IP address
        async with aiohttp.ClientSession(timeout=timeout, cookie_jar=jar) as http:
            token, project = await admin_token(http, url)
            await log_in(http, url)
            direct = {"X-Auth-Token": token}
            listing = "/compute/v2.1/servers/detail"

            async def get(path: str, headers: dict[str, str] | None = None) -> None:
                async with http.get(f"{url}{path}", headers=headers) as answer:
                    assert answer.status == 200, answer.status
                    await answer.read()

            progress("warming up")
            for _ in range(20):
                await get(listing, direct)
                await get(f"/dashboard/api{listing}")
            figures = []
            for concurrent in (1, concurrency):
                progress(f"listings, {concurrent} at a time")
                figures.append(
                    await measure(
                        f"GET {listing} direct, c={concurrent}",
                        calls,
                        concurrent,
                        lambda: get(listing, direct),
                    )
                )
                figures.append(
                    await measure(
                        f"GET /dashboard/api{listing}, c={concurrent}",
                        calls,
                        concurrent,
                        lambda: get(f"/dashboard/api{listing}"),
                    )
                )
            progress("page frames")
            figures.append(
                await measure(
                    "GET /dashboard/instances (frame), c=1",
                    calls,
                    1,
                    lambda: get("/dashboard/instances"),
                )
            )
            for figure in figures:
                print(
                    f"{figure.what:55s} p50 {figure.p50_ms:6.2f} ms  p99 {figure.p99_ms:6.2f} ms"
                    f"  {figure.per_second:7.0f}/s"
                )

            progress(f"a {OBJECT_MIB} MiB object")
            account = f"/object/v1/AUTH_{project}"
            async with http.put(f"{url}{account}/bench", headers=direct) as answer:
                assert answer.status in (201, 202)
            data = os.urandom(OBJECT_MIB * MiB)
            async with http.put(f"{url}{account}/bench/blob", headers=direct, data=data) as answer:
                assert answer.status == 201, await answer.text()
            rates = {"direct": [], "dashboard": []}
            for _ in range(3):
                rates["direct"].append(await download(http, f"{url}{account}/bench/blob", direct))
                rates["dashboard"].append(
                    await download(
                        http, f"{url}/dashboard/api/object/v1/AUTH_{project}/bench/blob", {}
                    )
                )
            for name, values in rates.items():
                print(f"GET {OBJECT_MIB} MiB object, {name:9s} best of 3: {max(values):7.0f} MiB/s")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    asyncio.run(main(args.calls, args.concurrency))
