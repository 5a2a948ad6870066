"""JSON request and response bodies, through msgspec."""

from collections.abc import AsyncIterator, Mapping
from typing import Any, TypeVar

import msgspec
from aiohttp import hdrs, web

from service.errors import BadRequest, error_for_status
from service.http.api import api_of

T = TypeVar("T")

JSON = "application/json"


async def read_json(request: web.Request, type_: type[T]) -> T:
    """The request body decoded and validated as `type_` (typically a msgspec Struct).

    Raises BadRequest naming the problem for an empty, malformed or invalid body, and
    the API's wrong-content-type error (415, or 400 for Keystone) when a Content-Type
    other than JSON is given; a missing Content-Type is taken as JSON. A body over the
    app's client_max_size gives 413.
    """
    if hdrs.CONTENT_TYPE in request.headers and request.content_type != JSON:
        raise error_for_status(
            api_of(request).wrong_content_type,
            f"Expected Content-Type {JSON}, not {request.content_type}.",
        )
    body = await request.read()
    if not body.strip():
        raise BadRequest("The request body is empty; a JSON object is required.")
    try:
        return msgspec.json.decode(body, type=type_)
    except msgspec.ValidationError as error:
        raise BadRequest(f"Invalid request body: {error}") from None
    except msgspec.DecodeError as error:
        raise BadRequest(f"Malformed JSON in request body: {error}") from None


def converted(value: Any, type_: type[T]) -> T:
    """A part of a decoded body (a server action's, say) validated as `type_`;
    BadRequest naming the problem if it is not one."""
    try:
        return msgspec.convert(value, type_)
    except msgspec.ValidationError as error:
        raise BadRequest(f"Invalid request body: {error}") from None


def json_response(
    body: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    """A response carrying `body` (Structs, dicts, lists...) encoded as JSON."""
    return web.Response(
        body=msgspec.json.encode(body), status=status, headers=headers, content_type=JSON
    )


async def body_pieces(request: web.Request) -> AsyncIterator[bytes]:
    """The request body in the pieces aiohttp received it in, none empty: never joined,
    so never copied on the way to storage (unlike `iter_chunked`)."""
    content = request.content
    while True:
        # Not iter_chunks: it ends only on (b"", False), which a body read before (an
        # EmptyStreamReader's second call) never gives again.
        piece, _ = await content.readchunk()
        if piece:
            yield piece
        elif content.at_eof():
            return
