"""Port create benchmark (issue 9), over HTTP on loopback against a real `kumo up`: 32
clients create ports for S seconds on one network with a /16 subnet (each port takes an
address through the IPAM read model), and, as the baseline in the same run, on a network
without a subnet (the same append, no address). Afterwards every address is checked to
be held by exactly one port.

Then, unless `--rule-changes 0`, a second `kumo up` on qemu:///system boots one tiny guest
(tools/build_test_guest.py) in a security group and times, for each of N rule changes,
from the API call to the rule being in the host's firewall for the guest's interface
(in the port's ingress chain of Kumo's nftables table, polled with `nft list chain`), for
an added rule and for its removal; the API call's own time is the baseline.

Usage: python -m benchmarks.network [--seconds 10] [--rule-changes 10]
Targets: at least 300 ports/s with 32 clients on one subnet; p99 reported. A rule in
force on a running guest in under 1 s.
"""

import argparse
import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import aiohttp
import asyncpg
import msgspec

from benchmarks.harness import ROOT, percentile, progress, running_kumo
from benchmarks.loadgen import LoadResult, drive
from service.network.firewall import TABLE_PREFIX
from tools.build_test_guest import build as build_guest

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


def nft(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["nft", *argv], capture_output=True, text=True)


def ingress_chain(port_id: str) -> tuple[str, ...]:
    """The `nft list chain` arguments of the port's ingress chain (in the table of the
    cloud that has it: other clouds may share the host)."""
    tables = nft("list", "tables", "ip").stdout.split()
    for table in (t for t in tables if t.startswith(TABLE_PREFIX)):
        chain = ("list", "chain", "ip", table, f"ingress-{port_id}")
        if nft(*chain).returncode == 0:
            return chain
    raise LookupError(f"no nftables chain for port {port_id}")


def in_force(chain: tuple[str, ...], text: str) -> bool:
    """Whether a rule holding `text` is in the chain."""
    return text in nft(*chain).stdout


async def until_in_force(chain: tuple[str, ...], text: str, present: bool, started: float) -> float:
    """Seconds from `started` until a rule holding `text` is (or is no longer) in force."""
    while time.monotonic() < started + 30:
        if await asyncio.to_thread(in_force, chain, text) == present:
            return time.monotonic() - started
        await asyncio.sleep(0.005)  # the firewall sends no event: poll it
    raise TimeoutError(f"{text} still {'absent' if present else 'present'} after 30 s")


def on_host() -> str:
    """What the host holds: libvirt's networks and domains (by UUID), nftables' tables."""
    listings = (["net-list", "--all"], ["list", "--all", "--uuid"])
    return nft("list", "tables").stdout + "".join(
        subprocess.run(
            ["virsh", "-c", "qemu:///system", *listing], capture_output=True, text=True, check=True
        ).stdout
        for listing in listings
    )


async def until_gone(names: list[str]) -> None:
    """Wait until libvirt lists none of `names` (those the run made)."""
    async with asyncio.timeout(60):
        while True:
            listed = await asyncio.to_thread(on_host)
            if not any(name in listed for name in names):
                return
            await asyncio.sleep(0.2)


async def boot_guest(http: aiohttp.ClientSession, url: str) -> tuple[str, str, str, list[str]]:
    """A tiny guest on a new network in a new security group, active: the server's, the
    group's and the port's ids, and the name of the host network made for it."""
    guest = build_guest()
    image = {"name": "tiny", "disk_format": "qcow2", "container_format": "bare"}
    async with http.post(f"{url}/image/v2/images", json=image) as made:
        image_id = (await made.json())["id"]
    put = f"{url}/image/v2/images/{image_id}/file"
    headers = {"Content-Type": "application/octet-stream"}
    async with http.put(put, data=guest.disk.read_bytes(), headers=headers) as uploaded:
        assert uploaded.status == 204, await uploaded.text()
    api = f"{url}/network/v2.0"
    async with http.post(f"{api}/networks", json={"network": {"name": "n"}}) as made:
        network_id = (await made.json())["network"]["id"]
    subnet = {"network_id": network_id, "cidr": "10.199.0.0/24", "ip_version": 4}
    async with http.post(f"{api}/subnets", json={"subnet": subnet}) as made:
        assert made.status == 201, await made.text()
    async with http.post(f"{api}/security-groups", json={"security_group": {"name": "g"}}) as made:
        group_id = (await made.json())["security_group"]["id"]
    server = {
        "name": "bench",
        "imageRef": image_id,
        "flavorRef": "1",
        "networks": [{"uuid": network_id}],
        "security_groups": [{"name": "g"}],
    }
    async with http.post(f"{url}/compute/v2.1/servers", json={"server": server}) as made:
        assert made.status == 202, await made.text()
        server_id = (await made.json())["server"]["id"]
    async with asyncio.timeout(180):
        while True:
            async with http.get(f"{url}/compute/v2.1/servers/{server_id}") as shown:
                status = (await shown.json())["server"]["status"]
            assert status != "ERROR"
            if status == "ACTIVE":
                break
            await asyncio.sleep(0.2)
    async with http.get(f"{api}/ports?device_id={server_id}") as listed:
        [port] = (await listed.json())["ports"]
    return server_id, group_id, port["id"], [f"kumo-{network_id}"]


async def rule_changes(count: int) -> None:
    """Boot a guest on qemu:///system and time `count` rule additions and removals."""
    data_dir = Path(tempfile.mkdtemp(prefix="bench-network-", dir=ROOT / ".kumo"))
    os.chmod(data_dir, 0o755)  # qemu runs as libvirt-qemu and reads the disks
    added: list[float] = []
    removed: list[float] = []
    calls: list[float] = []
    try:
        async with running_kumo(
            KUMO_ADMIN_PASSWORD=PASSWORD,
            KUMO_LOG_LEVEL="WARNING",
            KUMO_LIBVIRT_URI="qemu:///system",
            KUMO_DATA_DIR=str(data_dir),
            KUMO_HOST_NAME="bench-network",
        ) as kumo:
            token, _project_id = await admin_token(kumo.url)
            async with aiohttp.ClientSession(headers={"X-Auth-Token": token}) as http:
                server_id, group_id, port_id, host_names = await boot_guest(http, kumo.url)
                chain = await asyncio.to_thread(ingress_chain, port_id)
                progress(f"guest {server_id} active; {count} rule changes")
                try:
                    for i in range(count):
                        prefix = f"10.200.{i}.0/24"
                        rule = {
                            "security_group_id": group_id,
                            "direction": "ingress",
                            "protocol": "icmp",
                            "remote_ip_prefix": prefix,
                        }
                        started = time.monotonic()
                        async with http.post(
                            f"{kumo.url}/network/v2.0/security-group-rules",
                            json={"security_group_rule": rule},
                        ) as made:
                            assert made.status == 201, await made.text()
                            rule_id = (await made.json())["security_group_rule"]["id"]
                        calls.append(time.monotonic() - started)
                        added.append(await until_in_force(chain, prefix, True, started))
                        started = time.monotonic()
                        async with http.delete(
                            f"{kumo.url}/network/v2.0/security-group-rules/{rule_id}"
                        ) as gone:
                            assert gone.status == 204, await gone.text()
                        removed.append(await until_in_force(chain, prefix, False, started))
                finally:
                    async with http.delete(f"{kumo.url}/compute/v2.1/servers/{server_id}"):
                        pass
                    # The guest's rules go with it (its cloud's tables with the last), its
                    # network after it.
                    await until_gone([server_id, *host_names, chain[3]])
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    progress(f"load average after: {os.getloadavg()}")
    for name, values in (
        ("API call (baseline)", calls),
        ("rule added → in force", added),
        ("rule removed → gone", removed),
    ):
        ms = [v * 1000 for v in values]
        print(
            f"{name:24} p50 {percentile(ms, 50):7.1f} ms  p99 {percentile(ms, 99):7.1f} ms  "
            f"max {max(ms):7.1f} ms  ({len(ms)} changes)"
        )
    worst = max(added + removed)
    print(f"target rule in force < 1 s: {'PASS' if worst < 1 else 'MISS'} (worst {worst:.2f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rule-changes", type=int, default=10)
    args = parser.parse_args()
    if args.seconds > 0:
        asyncio.run(run(args.seconds))
    if args.rule_changes > 0:
        asyncio.run(rule_changes(args.rule_changes))


if __name__ == "__main__":
    main()
