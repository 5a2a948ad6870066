"""Encoding events to JSON once, and decoding them back through upcasters.

An upcaster turns the stored JSON of an older schema version into the next
version's shape; decoding applies them in a chain up to the type's current
`schema_version`, so code only ever sees current events.
"""

from collections.abc import Callable
from typing import Any

import msgspec

from events.errors import UnknownEventType
from events.types import Event, Metadata

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

_upcasters: dict[tuple[str, int], Upcaster] = {}
_decoders: dict[str, msgspec.json.Decoder[Any]] = {}
_encoder = msgspec.json.Encoder()
_metadata_decoder = msgspec.json.Decoder(Metadata)
_metadata_seen: dict[bytes, Metadata] = {}
_METADATA_KEPT = 4096


def upcaster(type_name: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Register a function turning `type_name` data of `from_version` into the next version."""

    def register(function: Upcaster) -> Upcaster:
        _upcasters[(type_name, from_version)] = function
        return function

    return register


def encode(value: msgspec.Struct) -> bytes:
    """JSON bytes of an event or metadata, encoded once and stored as they are."""
    return _encoder.encode(value)


def decode_metadata(data: bytes) -> Metadata:
    """Metadata from its stored JSON. The events of one append share theirs, so each
    distinct encoding is decoded once (of the last few thousand) and shared: Metadata
    is immutable."""
    found = _metadata_seen.get(data)
    if found is None:
        if len(_metadata_seen) >= _METADATA_KEPT:
            _metadata_seen.clear()
        found = _metadata_seen[data] = _metadata_decoder.decode(data)
    return found


def decode_event(type_name: str, schema_version: int, data: bytes) -> Event:
    """The current-version event for stored JSON of any older or current version.

    Raises UnknownEventType when no code registers the tag.
    """
    cls = Event.lookup(type_name)
    if cls is None:
        raise UnknownEventType(type_name)
    if schema_version < cls.schema_version:
        raw = msgspec.json.decode(data)
        for version in range(schema_version, cls.schema_version):
            raw = _upcasters[(type_name, version)](raw)
        return msgspec.convert(raw, cls)
    decoder = _decoders.get(type_name)
    if decoder is None:
        decoder = _decoders[type_name] = msgspec.json.Decoder(cls)
    event: Event = decoder.decode(data)
    return event
