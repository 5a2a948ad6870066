"""The default flavors, Nova-like but with two tiny ones first, small enough for the test
guest. Idempotent: a flavor whose id or name exists is kept as it is, and one an admin
deleted stays deleted."""

from events.postgres import PostgresEventStore
from events.store import NO_STREAM, StreamAppend
from events.types import SYSTEM, Metadata
from service.compute import events as ev
from service.compute.directory import Flavor, select

DEFAULT_FLAVORS: tuple[ev.FlavorCreated, ...] = tuple(
    ev.FlavorCreated(flavor_id=flavor_id, name=name, vcpus=vcpus, ram=ram, disk=disk)
    for flavor_id, name, vcpus, ram, disk in (
        ("1", "m1.nano", 1, 128, 1),
        ("2", "m1.micro", 1, 192, 1),
        ("3", "m1.tiny", 1, 512, 1),
        ("4", "m1.small", 1, 2048, 20),
        ("5", "m1.medium", 2, 4096, 40),
        ("6", "m1.large", 4, 8192, 80),
    )
)


async def ensure_default_flavors(store: PostgresEventStore) -> int:
    """Create the default flavors that are missing, in one append; how many were created."""
    existing = await select(store.pool, Flavor)
    taken = {f.id for f in existing} | {f.name for f in existing}
    missing = [
        f
        for f in DEFAULT_FLAVORS
        if f.flavor_id not in taken
        and f.name not in taken
        and await store.stream_version(f"flavor-{f.flavor_id}") == 0
    ]
    if missing:
        await store.append_streams(
            [StreamAppend(f"flavor-{f.flavor_id}", [f], NO_STREAM) for f in missing],
            metadata=Metadata(actor=SYSTEM, request_id="kumo-bootstrap"),
        )
    return len(missing)
