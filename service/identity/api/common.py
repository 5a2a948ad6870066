"""What every identity handler shares: lookups that 404 in Keystone's words, the
identity runtime, and (re-exported) the helpers every API handler uses."""

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from aiohttp import web

from service.auth import caller
from service.errors import NotFound
from service.http.recording import (
    base_url,
    filters,
    flag,
    new_id,
    record,
    record_streams,
    store,
)
from service.identity import credentials
from service.identity.directory import get
from service.identity.runtime import IDENTITY_RUNTIME, Identity
from service.policy import enforce

__all__ = [
    "authorized", "base_url", "filters", "flag", "identity", "must_get", "new_id", "record",
    "record_streams", "seal", "store", "unseal",
]  # fmt: skip
T = TypeVar("T")


async def must_get(request: web.Request, type_: type[T], row_id: str) -> T:
    """The identity row, or NotFound in Keystone's words ("Could not find project: x.")."""
    found = await get(store(request).pool, type_, row_id)
    if found is None:
        raise NotFound(f"Could not find {_what(type_)}: {row_id}.")
    return found


async def authorized(
    request: web.Request,
    type_: type[T],
    row_id: str,
    action: str,
    target: Callable[[T | None], Mapping[str, Any]],
) -> T:
    """The row after `action` is allowed on it. The policy is checked before existence,
    so a caller who may not see a resource gets 403 whether or not it exists."""
    found = await get(store(request).pool, type_, row_id)
    enforce(caller(request), action, target(found))
    if found is None:
        raise NotFound(f"Could not find {_what(type_)}: {row_id}.")
    return found


def seal(request: web.Request, secret: str) -> str:
    """`secret` encrypted with the primary credential key, to be kept in the log."""
    runtime = identity(request)
    return credentials.seal(runtime.credential_keys, secret, int(runtime.clock.now().timestamp()))


def unseal(request: web.Request, sealed: str, what: str) -> str:
    """What `seal` sealed for `what`, in clear (credentials.unseal_text)."""
    return credentials.unseal_text(identity(request).credential_keys, sealed, what)


def identity(request: web.Request) -> Identity:
    """The identity runtime: token codec, password rules, revocations."""
    return request.config_dict[IDENTITY_RUNTIME]


def _what(type_: type) -> str:
    name = type_.__name__
    return "".join(f" {c.lower()}" if c.isupper() else c for c in name).strip()
