"""`GET /events/v1/stream`: the log live, as Server-Sent Events, for one subscriber.

Each event is `id: <position>`, `event: <type>`, `data: <the event document>`. A
subscriber joins the application's hub (hub.py: one follower of the log for all of them),
reads what it asked for from before it joined out of the log itself, then takes the
hub's events, all into a bounded buffer that the response drains. When the subscriber
reads too slowly and a queue fills, it gets the events already buffered, then
`event: error` naming the last position it was sent, and the response ends: it may
resume from there with `Last-Event-ID`. Nothing a subscriber does slows the writers or
other subscribers.
"""

import asyncio
import contextlib

import msgspec
from aiohttp import web

from events.types import RecordedEvent
from service.auth import caller
from service.errors import BadRequest, Forbidden
from service.events_api.access import Owners
from service.events_api.hub import Filter, Hub, Item, Subscriber, frame, hub_of
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
        admin=auth.is_admin,
    ), None if after is None else int(after)


async def visible(owners: Owners, wanted: Filter, recorded: RecordedEvent) -> bool:
    """Whether the subscriber may and wants to see `recorded` (access.py's rule)."""
    return wanted.wants(recorded, await owners.of(recorded))


Buffer = asyncio.Queue[Item]
"""Positions and frames to send; None once the subscriber is dropped (the buffer filled)."""
LIVE: Item = (0, b"")
"""Put in the buffer after the catch-up: what follows comes from the hub's queue."""
COALESCE = 64
"""At most this many frames ready at once go out in one write."""


async def catch_up(request: web.Request, joined: Subscriber, after: int, buffer: Buffer) -> None:
    """What the subscriber asked for from the log, after `after` up to where it joined the
    hub, into `buffer`, then LIVE; a final None instead when the buffer fills (one slot
    is kept for it)."""
    wanted, owners = joined.wanted, hub(request).owners
    while after < joined.joined_at:
        batch = await store(request).read_all(
            after, 500, types=wanted.types, categories=wanted.categories, until=joined.joined_at
        )
        for recorded in batch:
            if not await visible(owners, wanted, recorded):
                continue
            if buffer.qsize() >= buffer.maxsize - 1:
                buffer.put_nowait(None)
                return
            buffer.put_nowait((recorded.position, frame(recorded)))
        after = batch[-1].position if len(batch) == 500 else joined.joined_at
    buffer.put_nowait(LIVE)


def hub(request: web.Request) -> Hub:
    return hub_of(request.app, store(request), request.config_dict[SETTINGS].database_url)


@routes.get("/v1/stream")
async def stream(request: web.Request) -> web.StreamResponse:
    """200 `text/event-stream` of the events the caller may see (filters `types=a,b`,
    `resource_type=a,b`, `project_id=` for admins), after `Last-Event-ID` or `?after=`
    (default: from now on), with a keep-alive comment when idle. Ends with `event: error`
    when the subscriber falls too far behind. 400/401/403 as `subscription` says."""
    wanted, after = subscription(request)
    options = request.config_dict.get(STREAM_OPTIONS, StreamOptions())
    joined = await hub(request).join(wanted, options.buffer)
    after = joined.joined_at if after is None else after
    buffer: Buffer = asyncio.Queue(maxsize=options.buffer + 1)
    reader = asyncio.create_task(catch_up(request, joined, after, buffer))
    try:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        await _drain(response, [buffer, joined.queue], reader, after, options)
    except (TimeoutError, ConnectionResetError):
        pass  # the subscriber stopped taking data: drop it without a word
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        hub(request).leave(joined)
    return response


async def _next(queue: Buffer, reader: "asyncio.Task[None]", options: StreamOptions) -> Item:
    """The next item, waiting at most the keep-alive interval; TimeoutError then. Raises
    the catch-up's error if it failed."""
    with contextlib.suppress(asyncio.QueueEmpty):
        return queue.get_nowait()
    try:
        # asyncio.timeout, not wait_for: no task made for each wait, one per event each
        # subscriber at the live rate.
        async with asyncio.timeout(options.keepalive):
            return await queue.get()
    except TimeoutError:
        if reader.done():
            reader.result()
        raise


async def _drain(
    response: web.StreamResponse,
    queues: list[Buffer],
    reader: "asyncio.Task[None]",
    after: int,
    options: StreamOptions,
) -> None:
    """Send the catch-up's frames, then the hub's (those after `after`), a keep-alive
    comment when idle, frames ready together in one write, until the subscriber is
    dropped; then the final error. Raises TimeoutError or ConnectionResetError when the
    subscriber stops taking data."""
    sent = after
    queue = queues.pop(0)
    while True:
        try:
            item = await _next(queue, reader, options)
        except TimeoutError:
            await _write(response, b": keep-alive\n\n", options)
            continue
        frames = []
        while item is not None:
            if item is LIVE:
                queue = queues.pop(0)
            elif item[0] > sent:
                sent = item[0]
                frames.append(item[1])
            if len(frames) >= COALESCE or queue.empty():
                break
            item = queue.get_nowait()
        if frames:
            await _write(response, b"".join(frames), options)
        if item is None:
            await _write(response, _fell_behind(sent), options)
            return


def _fell_behind(sent: int) -> bytes:
    """The final message to a subscriber dropped for reading too slowly."""
    message = "The subscriber fell too far behind; resume after last_id."
    data = msgspec.json.encode({"message": message, "last_id": sent})
    return b"event: error\ndata: %s\n\n" % data


async def _write(response: web.StreamResponse, data: bytes, options: StreamOptions) -> None:
    """Send `data`; raises TimeoutError (ending the response) when the subscriber does not
    take it within the write timeout."""
    async with asyncio.timeout(options.write_timeout):
        await response.write(data)
