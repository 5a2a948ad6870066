"""Identity benchmark (issue 3): token validations and issues per second over HTTP on
loopback with 32 concurrent clients, against a real `kumo up` process, and the CPU cost
of one bcrypt verification at the configured cost as the floor for issuing.

Usage: python -m benchmarks.identity [--seconds N] [--rounds R]
Targets on this 2-core machine: validation >= 3,000/s; issue within 20 % of the bcrypt
floor (issues/s >= floor/1.2, where floor = cores / CPU seconds of one verification).
"""

import argparse
import asyncio
import os
import time

import aiohttp
import bcrypt
import msgspec

from benchmarks.harness import progress, running_kumo
from benchmarks.loadgen import LoadResult, drive

PASSWORD = "bench-admin-pw"
USER_PASSWORD = "bench-user-pw"


def bcrypt_cpu_seconds(rounds: int, samples: int = 5) -> float:
    """CPU seconds of one bcrypt verification at `rounds` (best of `samples`)."""
    hashed = bcrypt.hashpw(USER_PASSWORD.encode(), bcrypt.gensalt(rounds))
    best = float("inf")
    for _ in range(samples):
        start = time.process_time()
        bcrypt.checkpw(USER_PASSWORD.encode(), hashed)
        best = min(best, time.process_time() - start)
    return best


def auth_body(user: dict[str, object], project: dict[str, object]) -> bytes:
    return msgspec.json.encode(
        {
            "auth": {
                "identity": {"methods": ["password"], "password": {"user": user}},
                "scope": {"project": project},
            }
        }
    )


async def prepare(url: str) -> tuple[str, str, bytes]:
    """An admin token, a member's token, and the member's token request body."""
    async with aiohttp.ClientSession(base_url=url) as http:

        async def call(method: str, path: str, token: str, body: object) -> dict[str, object]:
            async with http.request(
                method, f"/identity/v3/{path}", json=body, headers={"X-Auth-Token": token}
            ) as response:
                text = await response.text()
                assert response.status < 300, text
                return msgspec.json.decode(text) if text else {}

        admin_body = auth_body(
            {"name": "admin", "domain": {"id": "default"}, "password": PASSWORD},
            {"name": "admin", "domain": {"id": "default"}},
        )
        async with http.post(
            "/identity/v3/auth/tokens",
            data=admin_body,
            headers={"Content-Type": "application/json"},
        ) as response:
            admin = response.headers["X-Subject-Token"]
        project = (await call("POST", "projects", admin, {"project": {"name": "bench"}}))["project"]
        user = (
            await call(
                "POST", "users", admin, {"user": {"name": "bench", "password": USER_PASSWORD}}
            )
        )["user"]
        roles = (await call("GET", "roles?name=member", admin, None))["roles"]
        assert isinstance(project, dict) and isinstance(user, dict) and isinstance(roles, list)
        await call(
            "PUT",
            f"projects/{project['id']}/users/{user['id']}/roles/{roles[0]['id']}",
            admin,
            None,
        )
        body = auth_body({"id": user["id"], "password": USER_PASSWORD}, {"id": project["id"]})
        async with http.post(
            "/identity/v3/auth/tokens", data=body, headers={"Content-Type": "application/json"}
        ) as response:
            member = response.headers["X-Subject-Token"]
    return admin, member, body


async def run(seconds: float, rounds: int) -> None:
    async with running_kumo(
        KUMO_ADMIN_PASSWORD=PASSWORD, KUMO_PASSWORD_HASH_ROUNDS=str(rounds)
    ) as kumo:
        url = kumo.url
        admin, member, body = await prepare(url)
        floor = bcrypt_cpu_seconds(rounds)
        progress(f"validations: 32 clients for {seconds:.0f}s")
        validate = drive(
            f"{url}/identity/v3/auth/tokens",
            method="GET",
            seconds=seconds,
            expect=200,
            headers=[f"X-Auth-Token: {admin}", f"X-Subject-Token: {member}"],
        )
        progress(f"issues: 32 clients for {seconds * 2:.0f}s")
        issue = drive(
            f"{url}/identity/v3/auth/tokens",
            method="POST",
            seconds=seconds * 2,
            expect=201,
            headers=["Content-Type: application/json"],
            body=body,
        )
    report(validate, issue, floor, rounds)


def report(validate: LoadResult, issue: LoadResult, floor: float, rounds: int) -> None:
    cores = os.cpu_count() or 1
    floor_rate = cores / floor
    print(
        f"\nKumo identity benchmark, {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}; "
        f"{cores} cores, load average {os.getloadavg()[0]:.2f}"
    )
    print(
        f"bcrypt verify at cost {rounds}: {floor * 1000:.1f} ms CPU"
        f" -> floor {floor_rate:.2f} issues/s"
    )
    print(
        f"\n{'operation':<22}{'per s':>10}{'p50 ms':>10}{'p99 ms':>10}{'requests':>10}{'errors':>8}"
    )
    for name, r in (("validate (GET)", validate), ("issue (POST password)", issue)):
        print(
            f"{name:<22}{r.per_s:>10,.1f}{r.p50_ms:>10.2f}{r.p99_ms:>10.2f}{r.requests:>10,}{r.errors:>8}"
        )
    checks = [
        ("validation >= 3,000/s", f"{validate.per_s:,.0f}/s", validate.per_s >= 3000),
        (
            "issue within 20% of bcrypt floor",
            f"{issue.per_s / floor_rate:.0%} of floor",
            issue.per_s >= floor_rate / 1.2,
        ),
        ("no errors", f"{validate.errors + issue.errors}", validate.errors + issue.errors == 0),
    ]
    print()
    for name, value, ok in checks:
        print(f"{'PASS' if ok else 'MISS'}  {name:<36}{value}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=12, help="bcrypt cost (Keystone's 12)")
    args = parser.parse_args()
    asyncio.run(run(args.seconds, args.rounds))


if __name__ == "__main__":
    main()
