"""Audit benchmark: what the audit log costs a request. The same loads against `kumo up`
and against the same server without the audit middleware, alternately, in one run:

- object PUT (a change with its own append; 1 KiB objects of a member's container),
- a denied GET (a member asking for the user list: 403, which writes nothing but its
  audit record).

Besides rates, it reports the server process's CPU per request, read once the
asynchronous read models (the audit search among them) have caught up with the log:
on a shared machine that is steadier than the rate. Postgres's own CPU is not counted.

Usage: python -m benchmarks.audit [--seconds N] [--rounds R]
(`--serve-without-audit` is how the script starts the server without the middleware.)
"""

import argparse
import asyncio
import os
import time
from collections.abc import Callable
from functools import partial

import aiohttp
import asyncpg
import msgspec
import psutil
import uvloop
from aiohttp import web

from benchmarks.harness import KUMO_UP, Kumo, progress, running_kumo
from benchmarks.identity import PASSWORD, drive, prepare
from benchmarks.loadgen import LoadResult
from events.postgres import PostgresEventStore, create_pool
from service.app import create_app
from service.audit.middleware import audit_middleware
from service.config import Settings, load_settings
from service.identity.bootstrap import bootstrap
from service.logs import configure_logging
from service.read_models import kumo_store
from service.server import serve

WITHOUT_AUDIT = ("-m", "benchmarks.audit", "--serve-without-audit")
OBJECT = b"x" * 1024


def without_audit(settings: Settings, store: PostgresEventStore) -> web.Application:
    """The app `kumo up` serves, less the audit middleware."""
    app = create_app(settings, store, compute=True)
    app.middlewares.remove(audit_middleware)
    return app


def serve_without_audit() -> None:
    """`kumo up` on an already migrated database, without the audit middleware."""
    settings = load_settings()
    configure_logging(settings.log_level)
    assert settings.database_url, "KUMO_DATABASE_URL is required"
    url = settings.database_url

    async def initial_identity() -> None:
        pool = await create_pool(url, min_size=1, max_size=2)
        try:
            await bootstrap(kumo_store(pool), settings)
        finally:
            await pool.close()

    asyncio.run(initial_identity())
    uvloop.run(serve(settings, url, app_factory=without_audit))


class Load(msgspec.Struct, frozen=True):
    """A load's result and the server CPU it took per request."""

    result: LoadResult
    cpu_ms: float


async def caught_up(database_url: str) -> None:
    """Wait until every subscription group's checkpoint has reached the log's head."""
    conn = await asyncpg.connect(database_url)
    try:
        head = await conn.fetchval("SELECT coalesce(max(position), 0) FROM events")
        while True:
            behind = await conn.fetchval(
                "SELECT count(*) FROM subscription_checkpoints WHERE position < $1", head
            )
            if not behind:
                return
            await asyncio.sleep(0.2)
    finally:
        await conn.close()


async def timed(kumo: Kumo, load: Callable[[], LoadResult]) -> Load:
    """Run `load` and measure the server's CPU until its read models caught up."""
    server = psutil.Process(kumo.pid)
    before = server.cpu_times()
    result = await asyncio.to_thread(load)
    await caught_up(kumo.database_url)
    after = server.cpu_times()
    spent = (after.user - before.user) + (after.system - before.system)
    return Load(result, round(spent * 1000 / max(1, result.requests), 3))


async def measure(audited: bool, seconds: float, rounds: int) -> tuple[Load, Load]:
    """Object PUTs and denied GETs against one fresh server."""
    command = KUMO_UP if audited else WITHOUT_AUDIT
    async with running_kumo(
        command, KUMO_ADMIN_PASSWORD=PASSWORD, KUMO_PASSWORD_HASH_ROUNDS=str(rounds)
    ) as kumo:
        _, member, body = await prepare(kumo.url)
        project = msgspec.json.decode(body)["auth"]["scope"]["project"]["id"]
        container = f"{kumo.url}/object/v1/AUTH_{project}/bench"
        async with (
            aiohttp.ClientSession() as http,
            http.put(container, headers={"X-Auth-Token": member}) as response,
        ):
            assert response.status in (201, 202), await response.text()
        label = "with" if audited else "without"
        progress(f"{label} audit: object PUTs, 32 clients for {seconds:.0f}s")
        put = await timed(
            kumo,
            partial(
                drive,
                f"{container}/o{{n}}",
                method="PUT",
                seconds=seconds,
                expect=201,
                headers=[f"X-Auth-Token: {member}", "Content-Type: application/octet-stream"],
                body=OBJECT,
            ),
        )
        progress(f"{label} audit: denied GETs, 32 clients for {seconds:.0f}s")
        denied = await timed(
            kumo,
            partial(
                drive,
                f"{kumo.url}/identity/v3/users",
                method="GET",
                seconds=seconds,
                expect=403,
                headers=[f"X-Auth-Token: {member}"],
            ),
        )
        return put, denied


async def run(seconds: float, rounds: int, repeats: int) -> None:
    results: dict[tuple[str, bool], list[Load]] = {}
    for _ in range(repeats):
        for audited in (False, True):
            put, denied = await measure(audited, seconds, rounds)
            results.setdefault(("object PUT (201)", audited), []).append(put)
            results.setdefault(("denied GET (403)", audited), []).append(denied)
    report(results)


def report(results: dict[tuple[str, bool], list[Load]]) -> None:
    print(
        f"\nKumo audit benchmark, {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}; "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; 32 clients"
    )
    print(
        f"\n{'load':<20}{'audit':>7}{'per s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
        f"{'CPU ms/req':>12}"
    )
    for (name, audited), runs in sorted(results.items()):
        for load in runs:
            r = load.result
            print(
                f"{name:<20}{'on' if audited else 'off':>7}{r.per_s:>10,.1f}"
                f"{r.p50_ms:>9.2f}{r.p99_ms:>9.2f}{r.errors:>8}{load.cpu_ms:>12.3f}"
            )
    print()
    for name in sorted({n for n, _ in results}):
        off, on = results[(name, False)], results[(name, True)]
        best_off, best_on = max(x.result.per_s for x in off), max(x.result.per_s for x in on)
        cpu_off, cpu_on = min(x.cpu_ms for x in off), min(x.cpu_ms for x in on)
        print(
            f"{name:<20} best rate with audit {best_on:,.1f}/s vs without {best_off:,.1f}/s"
            f" ({best_on / best_off:.0%}); least server CPU {cpu_on:.3f} vs {cpu_off:.3f}"
            f" ms/request (+{cpu_on - cpu_off:.3f})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=4, help="bcrypt cost (logins not measured)")
    parser.add_argument("--repeats", type=int, default=2, help="alternations of off and on")
    parser.add_argument("--serve-without-audit", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_without_audit:
        serve_without_audit()
        return
    asyncio.run(run(args.seconds, args.rounds, args.repeats))


if __name__ == "__main__":
    main()
