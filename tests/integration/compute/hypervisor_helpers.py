"""Shared helpers of the compute integration tests: specs with fresh ids, waits, and what
a guest reads on its config drive."""

import asyncio
import json
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from service.compute.hypervisor import (
    DomainSpec,
    Hypervisor,
    LifecycleEvent,
    LifecycleKind,
    LifecycleSubscription,
)

NAME_PREFIX = "kumo-test-"
PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHOZWtH3qqfsqjCWUGcR/NpkV/7qmfga8LpsNYLAs7X8 mia"
"""A real public key, for key pairs imported by tests."""


def new_spec(serial_log: str, **fields: object) -> DomainSpec:
    """A 1-vCPU, 128 MiB domain with a fresh UUID and a name marking it as a test's."""
    ident = str(uuid.uuid4())
    base: dict[str, object] = {
        "uuid": ident,
        "name": NAME_PREFIX + ident[:8],
        "vcpus": 1,
        "memory_mib": 128,
        "serial_log": serial_log,
    }
    return DomainSpec(**(base | fields))  # type: ignore[arg-type]


async def wait_for_event(
    events: LifecycleSubscription, uuid: str, kind: LifecycleKind, within: float = 10
) -> LifecycleEvent:
    """The next event of `kind` for `uuid`, skipping others; TimeoutError after `within` seconds."""
    async with asyncio.timeout(within):
        async for event in events:
            if event.uuid == uuid and event.kind is kind:
                return event
    raise AssertionError("subscription closed")


async def wait_for_console(
    driver: Hypervisor, uuid: str, done: Callable[[str], bool], within: float
) -> float:
    """Seconds until `done(console output)` holds; TimeoutError with the output if never."""
    start = time.monotonic()
    output = ""
    while time.monotonic() - start < within:
        output = await driver.console_output(uuid)
        if done(output):
            return time.monotonic() - start
        await asyncio.sleep(0.1)
    raise TimeoutError(f"console of {uuid} after {within} s:\n{output}")


def config_drive_meta_data(guests: Path, server_id: str, version: str = "latest") -> Any:
    """The `meta_data.json` of a metadata version on a server's config drive, read out of
    the ISO its host wrote in `guests` (the host's folder of guest files) with xorriso."""
    iso = guests / "instances" / server_id / "config.iso"
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "meta_data.json"
        source = f"/openstack/{version}/meta_data.json"
        command = ["xorriso", "-osirrox", "on", "-indev", str(iso), "-extract", source]
        done = subprocess.run([*command, str(target)], capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        return json.loads(target.read_text())
