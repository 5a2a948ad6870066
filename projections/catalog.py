"""Kumo's read models by name, and whether each is inline or asynchronous."""

import msgspec

from projections.projection import Projection
from projections.streams import Streams


class Registered(msgspec.Struct, frozen=True):
    """A read model and how it is kept up to date."""

    projection: Projection
    inline: bool


def catalog() -> dict[str, Registered]:
    """Every read model Kumo keeps, by projection name."""
    models = [Registered(Streams(), inline=False)]
    return {m.projection.name: m for m in models}
