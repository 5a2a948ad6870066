"""What every API handler shares to act: the store, ids, links, query flags, and
recording a request's events (with its metadata) so that conflicts become 409s."""

from collections.abc import Callable, Sequence
from typing import Any

import asyncpg
from aiohttp import web

from events.errors import WrongExpectedVersion
from events.postgres import PostgresEventStore
from events.store import ANY, AppendResult, ExpectedVersion, StreamAppend
from events.types import Event, RecordedEvent
from service.errors import BadRequest, Conflict
from service.http.keys import IDS, SETTINGS, STORE
from service.http.request_id import event_metadata

Observer = Callable[[Sequence[RecordedEvent]], None]
OBSERVERS = web.AppKey("append_observers", list[Observer])
"""Told of every append a request makes, at once (e.g. identity's caches)."""
APPENDED = web.RequestKey("appended", list[RecordedEvent])
"""The events a request appended through `record`/`record_streams`, in order."""


def store(request: web.Request) -> PostgresEventStore:
    return request.config_dict[STORE]


def base_url(request: web.Request) -> str:
    return request.config_dict[SETTINGS].base_url


def new_id(request: web.Request) -> str:
    """A fresh id: 32 hex digits (Keystone's style)."""
    return request.config_dict[IDS].new_id().hex


def new_uuid(request: web.Request) -> str:
    """A fresh id in the dashed UUID form (Nova, Glance, Swift)."""
    return str(request.config_dict[IDS].new_id())


async def record(
    request: web.Request,
    stream_id: str,
    events: Sequence[Event],
    expected: ExpectedVersion = ANY,
    *,
    conflict: str = "",
) -> AppendResult:
    """Append events for this request; a duplicate (unique read model) is a 409."""
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
    request.setdefault(APPENDED, []).extend(result.events)
    for observe in request.config_dict.get(OBSERVERS, ()):
        observe(result.events)
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
        value: Any = flag(request, name) if name == "enabled" else request.query.get(name)
        if value is None:
            continue
        args.append(value)
        clauses.append(f"{name} = ${len(args)}")
    return (" AND ".join(clauses) or "true"), args
