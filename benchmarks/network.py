"""Port create benchmark (issue 9), over HTTP on loopback against a real `kumo up`: 32
clients create ports for S seconds on one network with a /16 subnet (each port takes an
address through the IPAM read model), and, as the baseline in the same run, on a network
without a subnet (the same append, no address). Afterwards every address is checked to
be held by exactly one port.

Usage: python -m benchmarks.network [--seconds 10]
Target: at least 300 ports/s with 32 clients on one subnet; p99 reported.
"""

import argparse
import asyncio
import os
from pathlib import Path

import aiohttp
import asyncpg
import msgspec

from benchmarks.harness import progress, running_kumo
from benchmarks.identity import drive
from benchmarks.loadgen import LoadResult

PASSWORD = "bench-admin-1"


async def admin_token(url: str) -> tuple[str, str]:
    """The admin's token and project id."""
    scope = {"project": {"name": "admin", "domain": {"id": "default"}}}
    user = {"name": "admin", "domain": {"id": "default"}, "password": PASSWORD}
    password = {"methods": ["password"], "password": {"user": user}}
    body = {"auth": {"identity": password, "scope": scope}}
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{url}/identity/v3/auth/tokens", json=body) as response:
            assert response.status == 201, await response.text()
            token = response.headers["X-Subject-Token"]
            return token, (await response.json())["token"]["project"]["id"]


async def prepare(url: str, token: str, project_id: str) -> tuple[str, str]:
    """Unlimited port quota; a network with a /16 subnet and one without: their ids."""
    headers = {"X-Auth-Token": token}
    api = f"{url}/network/v2.0"
    async with aiohttp.ClientSession(headers=headers) as http:
        quota = {"quota": {"port": -1}}
        async with http.put(f"{api}/quotas/{project_id}", json=quota) as response:
            assert response.status == 200, await response.text()
        ids = []
        for name in ("with-subnet", "bare"):
            async with http.post(f"{api}/networks", json={"network": {"name": name}}) as made:
                assert made.status == 201, await made.text()
                ids.append((await made.json())["network"]["id"])
        subnet = {"subnet": {"network_id": ids[0], "cidr": "10.64.0.0/16", "ip_version": 4}}
        async with http.post(f"{api}/subnets", json=subnet) as response:
            assert response.status == 201, await response.text()
    return ids[0], ids[1]


class Phase(msgspec.Struct):
    load: LoadResult
    cpu_ms_per_port: float
    """The API process's CPU time per port created (Postgres's is not counted)."""


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ports(url: str, pid: int, token: str, network_id: str, seconds: float) -> Phase:
    """32 clients creating ports on the network for `seconds`, and the server's CPU time."""
    body = msgspec.json.encode({"port": {"network_id": network_id}})
    before = cpu_seconds(pid)
    load = drive(
        f"{url}/network/v2.0/ports",
        method="POST",
        headers=[f"X-Auth-Token: {token}", "Content-Type: application/json"],
        seconds=seconds,
        expect=201,
        body=body,
    )
    used = cpu_seconds(pid) - before
    return Phase(load, round(used * 1000 / max(load.requests, 1), 2))


async def run(seconds: float) -> None:
    progress(f"load average before: {os.getloadavg()}")
    async with running_kumo(KUMO_ADMIN_PASSWORD=PASSWORD, KUMO_LOG_LEVEL="WARNING") as kumo:
        token, project_id = await admin_token(kumo.url)
        with_subnet, bare = await prepare(kumo.url, token, project_id)
        progress(f"baseline: 32 clients, {seconds:.0f} s, ports on a network without subnet")
        baseline = ports(kumo.url, kumo.pid, token, bare, seconds)
        progress(f"IPAM: 32 clients, {seconds:.0f} s, ports on one /16 subnet")
        allocated = ports(kumo.url, kumo.pid, token, with_subnet, seconds)
        conn = await asyncpg.connect(kumo.database_url)
        try:
            held = await conn.fetchrow(
                "SELECT count(*) AS taken, count(DISTINCT ip_address) AS distinct_addresses,"
                " count(DISTINCT port_id) AS ports FROM rm_ip_allocations"
            )
        finally:
            await conn.close()
    progress(f"load average after: {os.getloadavg()}")
    for name, phase in (("no subnet (baseline)", baseline), ("one /16 subnet", allocated)):
        figure = phase.load
        print(
            f"{name:22} {figure.per_s:8.1f} ports/s  p50 {figure.p50_ms:7.1f} ms  "
            f"p99 {figure.p99_ms:7.1f} ms  ({figure.requests} requests, {figure.errors} errors)"
            f"  server CPU {phase.cpu_ms_per_port:.2f} ms/port"
        )
    print(
        f"addresses: {held['taken']} taken by {held['ports']} ports, "
        f"{held['distinct_addresses']} distinct"
    )
    rate = allocated.load.per_s
    print(f"target >= 300 ports/s on one subnet: {'PASS' if rate >= 300 else 'MISS'} ({rate:.1f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    asyncio.run(run(parser.parse_args().seconds))


if __name__ == "__main__":
    main()
