"""`GET /events/v1/stream`: the log live, as Server-Sent Events, for one subscriber.

Each event is `id: <position>`, `event: <type>`, `data: <the event document>`. A
subscriber joins the application's hub (hub.py: one follower of the log for all of them),
reads what it asked for from before it joined out of the log itself (through a bounded
buffer that the response drains), then takes the hub's events (written by the hub itself
while the connection keeps up, else queued, up to as many). When the subscriber reads
too slowly and a buffer fills, it gets the events already buffered, then
`event: error` naming the last position it was sent, and the response ends: it may
resume from there with `Last-Event-ID`. Nothing a subscriber does slows the writers or
other subscribers.
"""

import asyncio
import contextlib

import msgspec
from aiohttp import hdrs, web

from events.types import RecordedEvent
from service.auth import caller
from service.errors import BadRequest, Forbidden
from service.events_api.access import Owners
from service.events_api.hub import Filter, Hub, Subscriber, frame, hub_of
from service.http.keys import SETTINGS
from service.http.recording import store

routes = web.RouteTableDef()


class StreamOptions(msgspec.Struct, frozen=True):
    """How streams behave: seconds between keep-alive comments, events a subscriber may
    fall behind by before it is dropped, seconds one write may block before the
    subscriber is dropped without a final message, and the fewest seconds between two
    reads of the log by the hub."""

    keepalive: float = 15.0
    buffer: int = 1000
    write_timeout: float = 30.0
    period: float = 0.03
    """Events committed since the hub's last read go out together with its next one, at
    most one read a period: however fast the log grows, the hub reads it and writes to
    each subscriber about 33 times a second (a send per subscriber a read in the
    server and a receive in each client: most of a delivery's cost, on the cores the
    appends run on). An event after a quiet spell goes out at once. 30 ms: 20 let 100
    subscribers take 12-16 % of the appends' rate on two cores, 40 put the delivery's
    p99 at 49 ms (benchmarks/RESULTS.md, session 5, end)."""


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


Item = tuple[int, bytes] | None
"""A position and its frame; None once the subscriber is dropped (the buffer filled)."""
Buffer = asyncio.Queue[Item]
"""The catch-up's positions and frames to send."""
LIVE: Item = (0, b"")
"""Put in the buffer after the catch-up: what follows comes from the hub."""
COALESCE = 64
"""At most this many frames of the catch-up ready at once go out in one write."""
KEEPALIVE = b": keep-alive\n\n"


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
    options = request.config_dict.get(STREAM_OPTIONS, StreamOptions())
    dsn = request.config_dict[SETTINGS].database_url
    return hub_of(request.app, store(request), dsn, options.period)


@routes.get("/v1/stream")
async def stream(request: web.Request) -> web.StreamResponse:
    """200 `text/event-stream` of the events the caller may see (filters `types=a,b`,
    `resource_type=a,b`, `project_id=` for admins), after `Last-Event-ID` or `?after=`
    (default: from now on), with a keep-alive comment when idle. Ends with `event: error`
    when the subscriber falls too far behind. 400/401/403 as `subscription` says."""
    wanted, after = subscription(request)
    options = request.config_dict.get(STREAM_OPTIONS, StreamOptions())
    joined = await hub(request).join(wanted, options.buffer, after)
    after = joined.joined_at if after is None else after
    buffer: Buffer = asyncio.Queue(maxsize=options.buffer + 1)
    reader = asyncio.create_task(catch_up(request, joined, after, buffer))
    try:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        if await _replay(response, buffer, reader, after, options):
            await _follow(request, response, joined, options)
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
        async with asyncio.timeout(options.keepalive):
            return await queue.get()
    except TimeoutError:
        if reader.done():
            reader.result()
        raise


async def _replay(
    response: web.StreamResponse,
    buffer: Buffer,
    reader: "asyncio.Task[None]",
    after: int,
    options: StreamOptions,
) -> bool:
    """Send the catch-up's frames (those ready together in one write), a keep-alive
    comment when idle, until LIVE: True then. False once the final error is sent (the
    buffer filled). Raises TimeoutError or ConnectionResetError when the subscriber stops
    taking data."""
    sent = after
    while True:
        try:
            item = await _next(buffer, reader, options)
        except TimeoutError:
            await _write(response, KEEPALIVE, options)
            continue
        frames = []
        while item is not None and item is not LIVE:
            sent = item[0]
            frames.append(item[1])
            if len(frames) >= COALESCE or buffer.empty():
                break
            item = buffer.get_nowait()
        if frames:
            await _write(response, b"".join(frames), options)
        if item is None:
            await _write(response, _fell_behind(sent), options)
            return False
        if item is LIVE:
            return True


async def _follow(
    request: web.Request, response: web.StreamResponse, joined: Subscriber, options: StreamOptions
) -> None:
    """Send what the hub hands the subscriber until it is dropped, then the final error.
    While nothing is pending the hub writes to the connection itself (chunked responses
    without compression only: it writes whole chunks as they are); a keep-alive comment
    goes out when nothing was handed over for a keep-alive interval. Raises as `_replay`
    does."""
    chunked = response.headers.get(hdrs.TRANSFER_ENCODING) == "chunked"
    direct = request.transport if chunked and not response.compression else None
    seen = joined.last
    while True:
        if joined.pending:
            await _write(response, joined.take(), options)
            continue
        if joined.dropped:
            await _write(response, _fell_behind(joined.last), options)
            return
        joined.transport = direct
        try:
            # asyncio.timeout, not wait_for: no task made for each wait.
            async with asyncio.timeout(options.keepalive):
                await joined.ready.wait()
        except TimeoutError:
            if joined.last == seen:
                await _write(response, KEEPALIVE, options)
            seen = joined.last


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
