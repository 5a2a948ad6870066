"""Nova's request values: integers given as JSON numbers or as digit strings, booleans
given as JSON booleans or as words ("True", "on", "1", ...), as its parameter types
accept them, and UUIDs."""

import re
from collections.abc import Collection, Iterable

from service.errors import BadRequest

MAX_INT = 2**31 - 1
"""The largest integer Nova's database columns hold."""

_TRUE = frozenset({"True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes", "yes"})
_FALSE = frozenset({"False", "FALSE", "false", "0", "OFF", "Off", "off", "NO", "No", "no"})
UUID_PATTERN = r"^[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}$"
"""A UUID as Nova takes one: hex digits, the dashes optional."""
_UUID = re.compile(UUID_PATTERN)
_DIGITS = re.compile(r"[0-9]+")
_SIGNED_DIGITS = re.compile(r"-?[0-9]+")


def is_uuid(value: str) -> bool:
    return bool(_UUID.match(value))


def integer(
    field: str, value: int | str, minimum: int, maximum: int = MAX_INT, *, signed: bool = False
) -> int:
    """`value` as an integer within [minimum, maximum]; a string must be digits (with a
    leading minus if `signed`). BadRequest (400) naming the field otherwise."""
    digits = _SIGNED_DIGITS if signed else _DIGITS
    if isinstance(value, str) and not digits.fullmatch(value):
        raise BadRequest(f"Invalid input for field/attribute {field}. Value: {value}.")
    number = int(value)
    if not minimum <= number <= maximum:
        raise BadRequest(
            f"Invalid input for field/attribute {field}. Value: {value}. "
            f"It must be between {minimum} and {maximum}."
        )
    return number


def unexpected(name: str, field: str | None = None) -> BadRequest:
    """The 400 Nova's schemas give for a property `name` they do not allow (of `field`)."""
    where = f"Invalid input for field/attribute {field}. " if field else ""
    return BadRequest(f"{where}Additional properties are not allowed ('{name}' was unexpected)")


def only(given: Iterable[str], allowed: Collection[str], field: str | None = None) -> None:
    """`unexpected` for the first (by name) of `given` not `allowed`."""
    extra = sorted(set(given) - set(allowed))
    if extra:
        raise unexpected(extra[0], field)


def boolean(field: str, value: object) -> bool:
    """`value` as a boolean: a JSON boolean or one of Nova's words for one; BadRequest
    (400) naming the field otherwise."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and (value in _TRUE or value in _FALSE):
        return value in _TRUE
    raise BadRequest(f"Invalid input for field/attribute {field}. Value: {value}.")
