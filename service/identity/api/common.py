"""What every identity handler shares: ids, lookups that 404, and recording events."""

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import asyncpg
from aiohttp import web

from events.errors import WrongExpectedVersion
from events.postgres import PostgresEventStore
from events.store import ANY, AppendResult, ExpectedVersion, StreamAppend
from events.types import Event
from service.auth import caller
from service.errors import BadRequest, Conflict, NotFound
from service.http.keys import IDS, SETTINGS, STORE
from service.http.request_id import event_metadata
from service.identity.directory import get
from service.identity.runtime import IDENTITY_RUNTIME, Identity
from service.policy import enforce

T = TypeVar("T")


def store(request: web.Request) -> PostgresEventStore:
    return request.config_dict[STORE]


def base_url(request: web.Request) -> str:
    return request.config_dict[SETTINGS].base_url


def new_id(request: web.Request) -> str:
    """A fresh Keystone-style id: 32 hex digits."""
    return request.config_dict[IDS].new_id().hex


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


def identity(request: web.Request) -> Identity:
    """The identity runtime: token codec, password rules, revocations."""
    return request.config_dict[IDENTITY_RUNTIME]


def _what(type_: type) -> str:
    name = type_.__name__
    return "".join(f" {c.lower()}" if c.isupper() else c for c in name).strip()


async def record(
    request: web.Request,
    stream_id: str,
    events: Sequence[Event],
    expected: ExpectedVersion = ANY,
    *,
    conflict: str = "",
) -> AppendResult:
    """Append events for this request; a duplicate name (unique read model) is a 409."""
    appends = [StreamAppend(stream_id, events, expected)]
    return await record_streams(request, appends, conflict=conflict)


async def record_streams(
    request: web.Request, appends: Sequence[StreamAppend], *, conflict: str = ""
) -> AppendResult:
    """Append to several streams at once for this request; conflicts are 409s."""
    try:
        result = await store(request).append_streams(appends, metadata=event_metadata(request))
    except asyncpg.UniqueViolationError:
        raise Conflict(conflict or "Conflict occurred attempting to store the resource.") from None
    except WrongExpectedVersion:
        raise Conflict("The resource was changed concurrently; retry the request.") from None
    request.config_dict[IDENTITY_RUNTIME].observe(result.events)
    return result


def flag(request: web.Request, name: str) -> bool | None:
    """A boolean query parameter (true/false/1/0/yes/no), None when absent; 400 if garbled."""
    value = request.query.get(name)
    if value is None:
        return None
    lowered = value.lower()
    if lowered in ("", "true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise BadRequest(f"Invalid value for the query parameter {name}: {value!r}.")


def filters(request: web.Request, *names: str) -> tuple[str, list[Any]]:
    """A SQL condition and its arguments for exact-match query filters on columns."""
    clauses: list[str] = []
    args: list[Any] = []
    for name in names:
        if name == "enabled":
            value: Any = flag(request, name)
        else:
            value = request.query.get(name)
        if value is None:
            continue
        args.append(value)
        clauses.append(f"{name} = ${len(args)}")
    return (" AND ".join(clauses) or "true"), args
