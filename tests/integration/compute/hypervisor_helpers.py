"""Shared helpers of the compute integration tests: specs with fresh ids, and waits."""

import asyncio
import time
import uuid
from collections.abc import Callable

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
