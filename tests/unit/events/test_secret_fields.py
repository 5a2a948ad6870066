"""No event type carries a secret the events API would show: every field named like one
(a password, a secret, an encrypted value, a verifier) is in its type's `secret_fields`."""

import re

import service.app  # noqa: F401 - imports every service, so every event type is defined
from events.types import Event

SECRET_LOOKING = re.compile(r"password|secret|encrypted|verifier|private_key")


def _types(base: type[Event]) -> list[type[Event]]:
    found = []
    for cls in base.__subclasses__():
        found += [cls, *_types(cls)]
    return found


def test_fields_that_look_secret_are_secret_fields() -> None:
    leaking = {
        f"{cls.__name__}.{name}"
        for cls in _types(Event)
        for name in cls.__struct_fields__
        if SECRET_LOOKING.search(name)
        and not name.endswith("_at")  # a time is no secret
        and name not in getattr(cls, "secret_fields", ())
    }
    assert not leaking
