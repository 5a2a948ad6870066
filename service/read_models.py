"""Kumo's read models by name, whether each is inline or asynchronous, and the store
and background runners built from them."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

import msgspec

from events.postgres import Pool, PostgresEventStore
from events.subscription import SubscriptionRunner
from projections.inline import InlineProjections
from projections.projection import Projection
from projections.runner import subscription_for
from projections.streams import Streams
from service.audit.projection import AuditProjection
from service.compute.hosts import HostResourcesProjection
from service.compute.projection import ComputeProjection
from service.identity.limit_projection import LimitsProjection
from service.identity.projection import IdentityProjection
from service.image.metadefs.projection import MetadefProjection
from service.image.projection import ImageProjection
from service.network.projection import NetworkProjection
from service.objects.projection import ObjectsProjection


class Registered(msgspec.Struct, frozen=True):
    """A read model and how it is kept up to date."""

    projection: Projection
    inline: bool


def catalog() -> dict[str, Registered]:
    """Every read model Kumo keeps, by projection name."""
    models = [
        Registered(IdentityProjection(), inline=True),
        Registered(LimitsProjection(), inline=True),
        Registered(ComputeProjection(), inline=True),
        Registered(HostResourcesProjection(), inline=True),
        Registered(ObjectsProjection(), inline=True),
        Registered(ImageProjection(), inline=True),
        Registered(MetadefProjection(), inline=True),
        Registered(NetworkProjection(), inline=True),
        Registered(Streams(), inline=False),
        Registered(AuditProjection(), inline=False),
    ]
    return {m.projection.name: m for m in models}


def kumo_store(pool: Pool) -> PostgresEventStore:
    """The event store with every inline read model applied in the append's transaction."""
    inline = [m.projection for m in catalog().values() if m.inline]
    return PostgresEventStore(pool, inline=InlineProjections(inline))


@contextlib.asynccontextmanager
async def async_projections(store: PostgresEventStore, dsn: str) -> AsyncIterator[None]:
    """Keep every asynchronous read model following the log while the block runs."""
    runners = [
        SubscriptionRunner(store, dsn, subscription_for(m.projection))
        for m in catalog().values()
        if not m.inline
    ]
    tasks = [asyncio.create_task(r.run()) for r in runners]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
