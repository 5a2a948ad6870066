"""The resource types Glance's own catalog of definitions is written for, created at
bootstrap as Glance seeds them. Idempotent: those that exist are kept."""

from events.postgres import PostgresEventStore
from events.store import NO_STREAM, StreamAppend
from events.types import SYSTEM, Metadata
from service.image.metadefs.directory import resource_types
from service.image.metadefs.events import MetadefResourceTypeCreated

SEEDED = (
    "OS::Glance::Image",
    "OS::Cinder::Volume",
    "OS::Nova::Flavor",
    "OS::Nova::Aggregate",
    "OS::Nova::Server",
    "OS::Trove::Instance",
)


def stream(name: str) -> str:
    """The stream of the resource type called `name`."""
    return f"metadefrt-{name}"


async def ensure_resource_types(store: PostgresEventStore) -> int:
    """Create the seeded resource types that are missing, in one append; how many."""
    known = {rt.name for rt in await resource_types(store.pool)}
    missing = [name for name in SEEDED if name not in known]
    if missing:
        await store.append_streams(
            [
                StreamAppend(
                    stream(name), [MetadefResourceTypeCreated(name=name, protected=True)], NO_STREAM
                )
                for name in missing
            ],
            metadata=Metadata(actor=SYSTEM, request_id="kumo-bootstrap"),
        )
    return len(missing)
