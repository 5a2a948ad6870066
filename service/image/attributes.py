"""Checking one attribute a caller sets on an image, in a create body or a patch, the way
Glance's schema does: read-only and reserved names are 403, bad values 400."""

from typing import Any

from service.errors import BadRequest, Forbidden
from service.image.schema import (
    CONTAINER_FORMATS,
    CORE,
    DISK_FORMATS,
    MAX_TAG,
    READ_ONLY,
    RESERVED,
    RESERVED_PREFIX,
    VISIBILITIES,
)

MAX_NAME = 255
MAX_PROPERTY_VALUE = 65535


def check_settable(name: str) -> None:
    """Forbidden (403) unless a caller may set `name` on an image."""
    if name in READ_ONLY:
        raise Forbidden(f"Attribute '{name}' is read-only.")
    if name in RESERVED or name.startswith(RESERVED_PREFIX):
        raise Forbidden(f"Attribute '{name}' is reserved.")


def check_value(name: str, value: Any) -> Any:
    """`value` if it is valid for attribute `name` (core, or a custom string property);
    BadRequest naming the problem otherwise."""
    match name:
        case "name" | "owner":
            _require(value is None or (isinstance(value, str) and len(value) <= MAX_NAME),
                     name, f"a string of at most {MAX_NAME} characters or null")  # fmt: skip
        case "visibility":
            _require(value in VISIBILITIES, name, "one of " + ", ".join(VISIBILITIES))
        case "protected" | "os_hidden":
            _require(isinstance(value, bool), name, "a boolean")
        case "min_disk" | "min_ram":
            _require(_natural(value), name, "an integer of at least 0")
        case "container_format":
            _require(value is None or value in CONTAINER_FORMATS, name,
                     "one of " + ", ".join(CONTAINER_FORMATS))  # fmt: skip
        case "disk_format":
            _require(value is None or value in DISK_FORMATS, name,
                     "one of " + ", ".join(DISK_FORMATS))  # fmt: skip
        case "tags":
            _require(isinstance(value, list) and all(_tag(t) for t in value), name,
                     f"a list of strings of at most {MAX_TAG} characters")  # fmt: skip
            return tuple(dict.fromkeys(value))
        case _:
            _require(isinstance(value, str) and len(value) <= MAX_PROPERTY_VALUE, name,
                     "a string")  # fmt: skip
    return value


def is_core(name: str) -> bool:
    """Whether `name` is a core property rather than a custom one."""
    return name in CORE


def _natural(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _tag(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_TAG


def _require(ok: bool, name: str, what: str) -> None:
    if not ok:
        raise BadRequest(f"Invalid value for attribute '{name}': it must be {what}.")
