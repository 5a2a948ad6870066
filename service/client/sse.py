"""Server-Sent Events read off an HTTP response, one message at a time."""

from collections.abc import AsyncIterator

import aiohttp
import msgspec


class Message(msgspec.Struct):
    """One SSE message: its `id`, `event` and `data` fields (comments are skipped)."""

    id: str | None = None
    event: str | None = None
    data: str = ""


async def messages(response: aiohttp.ClientResponse) -> AsyncIterator[Message]:
    """The messages of `response` until it ends; keep-alive comments are passed over."""
    message = Message()
    seen = False
    async for raw in response.content:
        line = raw.decode().rstrip("\r\n")
        if not line:
            if seen:
                yield message
            message, seen = Message(), False
            continue
        name, _, value = line.partition(":")
        if not name:
            continue  # a comment
        value = value.removeprefix(" ")
        if name == "data":
            message.data = f"{message.data}\n{value}" if message.data else value
        elif name in ("id", "event"):
            setattr(message, name, value)
        seen = True
