"""`GET /events/v1/stream`: the log live, as Server-Sent Events, for one subscriber.

Each event is `id: <position>`, `event: <type>`, `data: <the event document>`. A
follower (events/follow.py) reads the log into a bounded buffer; the response drains
it. When the subscriber reads too slowly and the buffer fills, the follower stops and
the subscriber gets the events already buffered, then `event: error` naming the last
position it was sent, and the response ends: it may resume from there with
`Last-Event-ID`. Nothing a subscriber does slows the writers or other subscribers.
"""

import asyncio
import contextlib
from collections.abc import Sequence

import msgspec
from aiohttp import web

from events.follow import follow
from events.types import RecordedEvent
from service.auth import AuthContext, caller
from service.errors import BadRequest, Forbidden
from service.events_api.access import Owners, may_read
from service.events_api.envelope import to_doc
from service.http.keys import SETTINGS
from service.http.recording import store

routes = web.RouteTableDef()


class StreamOptions(msgspec.Struct, frozen=True):
    """How streams behave: seconds between keep-alive comments, events a subscriber may
    fall behind by before it is dropped, and seconds one write may block before the
    subscriber is dropped without a final message."""

    keepalive: float = 15.0
    buffer: int = 1000
    write_timeout: float = 30.0


STREAM_OPTIONS = web.AppKey("events_stream_options", StreamOptions)
"""Set on the root app to change the defaults (tests do)."""


class Filter(msgspec.Struct, frozen=True):
    """Which events one subscriber receives."""

    auth: AuthContext
    types: Sequence[str] | None
    categories: Sequence[str] | None
    project_id: str | None


def subscription(request: web.Request) -> tuple[Filter, int | None]:
    """The caller's filter and the position to resume after (None: from now on).

    Raises BadRequest for a position that is not a number, Forbidden when a member asks
    for another project's events, Unauthorized without a valid token."""
    auth = caller(request)
    query = request.query
    project_id = query.get("project_id")
    if project_id is not None and not auth.is_admin and project_id != auth.project_id:
        raise Forbidden("Only admins may follow the events of another project.")
    resource_type = query.get("resource_type")
    listed = query.get("types")
    after = request.headers.get("Last-Event-ID") or query.get("after")
    if after is not None and not after.isdigit():
        raise BadRequest(f"Invalid position to resume after: {after!r}.")
    return Filter(
        auth=auth,
        types=None if listed is None else [t for t in listed.split(",") if t],
        categories=None if resource_type is None else [t for t in resource_type.split(",") if t],
        project_id=project_id,
    ), None if after is None else int(after)


async def visible(owners: Owners, wanted: Filter, recorded: RecordedEvent) -> bool:
    """Whether the subscriber may and wants to see `recorded` (access.py's rule)."""
    owner = await owners.of(recorded)
    if wanted.project_id is not None and owner != wanted.project_id:
        return False
    return may_read(wanted.auth, recorded.stream_id, owner)


def frame(recorded: RecordedEvent) -> bytes:
    """One event as an SSE message."""
    data = msgspec.json.encode(to_doc(recorded))
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (recorded.position, recorded.type.encode(), data)


Buffer = asyncio.Queue[tuple[int, bytes] | None]
"""Positions and frames to send; None once the follower gave up (the buffer filled)."""


async def fill(request: web.Request, wanted: Filter, after: int, buffer: Buffer) -> None:
    """Follow the log into `buffer` until the task is cancelled or the buffer is full
    (then a final None, for which one slot is kept free)."""
    owners = Owners(store(request))
    dsn = request.config_dict[SETTINGS].database_url
    events = follow(store(request), dsn, after, types=wanted.types, categories=wanted.categories)
    async for recorded in events:
        if not await visible(owners, wanted, recorded):
            continue
        if buffer.qsize() >= buffer.maxsize - 1:
            buffer.put_nowait(None)
            return
        buffer.put_nowait((recorded.position, frame(recorded)))


@routes.get("/v1/stream")
async def stream(request: web.Request) -> web.StreamResponse:
    """200 `text/event-stream` of the events the caller may see (filters `types=a,b`,
    `resource_type=a,b`, `project_id=` for admins), after `Last-Event-ID` or `?after=`
    (default: from now on), with a keep-alive comment when idle. Ends with `event: error`
    when the subscriber falls too far behind. 400/401/403 as `subscription` says."""
    wanted, after = subscription(request)
    options = request.config_dict.get(STREAM_OPTIONS, StreamOptions())
    if after is None:
        after = await store(request).head_position()
    buffer: Buffer = asyncio.Queue(maxsize=options.buffer + 1)
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    follower = asyncio.create_task(fill(request, wanted, after, buffer))
    try:
        await _drain(response, buffer, follower, after, options)
    except (TimeoutError, ConnectionResetError):
        pass  # the subscriber stopped taking data: drop it without a word
    finally:
        follower.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follower
    return response


async def _drain(
    response: web.StreamResponse,
    buffer: Buffer,
    follower: "asyncio.Task[None]",
    sent: int,
    options: StreamOptions,
) -> None:
    """Send the buffered frames (a keep-alive comment when idle) until the follower gives
    up, then the final error. Raises the follower's error if it failed, TimeoutError or
    ConnectionResetError when the subscriber stops taking data."""
    while True:
        try:
            item = await asyncio.wait_for(buffer.get(), options.keepalive)
        except TimeoutError:
            if follower.done():
                follower.result()
            await _write(response, b": keep-alive\n\n", options)
            continue
        if item is None:
            await _write(response, _fell_behind(sent), options)
            return
        sent, data = item
        await _write(response, data, options)


def _fell_behind(sent: int) -> bytes:
    """The final message to a subscriber dropped for reading too slowly."""
    message = "The subscriber fell too far behind; resume after last_id."
    data = msgspec.json.encode({"message": message, "last_id": sent})
    return b"event: error\ndata: %s\n\n" % data


async def _write(response: web.StreamResponse, data: bytes, options: StreamOptions) -> None:
    """Send `data`; raises TimeoutError (ending the response) when the subscriber does not
    take it within the write timeout."""
    await asyncio.wait_for(response.write(data), options.write_timeout)
