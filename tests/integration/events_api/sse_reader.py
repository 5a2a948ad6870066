"""Reading Server-Sent Events from an aiohttp client response, message by message."""

import asyncio

import msgspec
from aiohttp import ClientResponse


class Message(msgspec.Struct):
    """One SSE message: its fields (`id`, `event`, `data`) or a comment."""

    id: str | None = None
    event: str | None = None
    data: str | None = None
    comment: str | None = None


WAIT = 5.0
"""Seconds to wait for a message before giving up."""


async def next_message(response: ClientResponse) -> Message | None:
    """The next message, or None when the stream ends; TimeoutError if none comes in WAIT."""
    message = Message()
    async with asyncio.timeout(WAIT):
        while True:
            raw = await response.content.readline()
            if not raw:
                return None
            line = raw.decode().rstrip("\n")
            if not line:
                return message
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "":
                message.comment = value
            else:
                setattr(message, name, value)


async def events(response: ClientResponse, count: int) -> list[Message]:
    """The next `count` event messages, skipping comments; AssertionError if it ends."""
    found: list[Message] = []
    while len(found) < count:
        message = await next_message(response)
        assert message is not None, f"the stream ended after {found}"
        if message.comment is None:
            found.append(message)
    return found
