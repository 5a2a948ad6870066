"""SSE subscribers for benchmarks/events_live.py, in a process of their own:

    python -m benchmarks.sse_subscribers URL TOKEN TYPE COUNT

opens COUNT streams of URL's events of TYPE as TOKEN and notes when each event is read.
It prints `ready` once all are open; on SIGTERM, {"received": [[[position, time], ...]
per subscriber]} as one JSON line, and ends. It imports nothing of Kumo's.

Each stream is a plain HTTP/1.1 request on an asyncio protocol that undoes the chunked
encoding and splits messages as bytes arrive, with no task woken per read: a reader as
cheap as can be, so that the machine's cores go to the server and its database (the
subscribers stand for clients elsewhere).
"""

import asyncio
import gc
import signal
import sys
import time
from functools import partial
from urllib.parse import urlencode, urlsplit

import msgspec


class Stream(asyncio.Protocol):
    """One subscriber: sends its request, then notes (position, time) of each event."""

    def __init__(self, request: bytes, seen: list[tuple[int, float]]) -> None:
        self.request = request
        self.seen = seen
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.raw = b""  # received, not yet undone from its chunks
        self.text = b""  # the body so far, not yet split into messages
        self.headers_done = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        now = time.time()
        self.raw += data
        if not self.headers_done:
            end = self.raw.find(b"\r\n\r\n")
            if end < 0:
                return
            head, self.raw = self.raw[:end], self.raw[end + 4 :]
            status = head.split(b"\r\n", 1)[0]
            if b" 200 " not in status or b"chunked" not in head.lower():
                self.opened.set_exception(RuntimeError(head.decode(errors="replace")))
                return
            self.headers_done = True
            self.opened.set_result(None)
        self._unchunk()
        *messages, self.text = self.text.split(b"\n\n")
        for message in messages:
            if message.startswith(b"id: "):
                self.seen.append((int(message[4 : message.index(b"\n")]), now))

    def _unchunk(self) -> None:
        while True:
            line = self.raw.find(b"\r\n")
            if line < 0:
                return
            size = int(self.raw[:line].split(b";", 1)[0], 16)
            start = line + 2
            if len(self.raw) < start + size + 2:
                return
            self.text += self.raw[start : start + size]
            self.raw = self.raw[start + size + 2 :]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed before the answer"))


async def subscribers(url: str, token: str, type_name: str, count: int) -> None:
    """`count` SSE connections to `url` as `token`, each noting when it read each event
    of `type_name` (see the module's docstring)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = f"/events/v1/stream?{urlencode({'types': type_name})}"
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nX-Auth-Token: {token}\r\n"
        "Accept: text/event-stream\r\n\r\n"
    ).encode()
    received: list[list[tuple[int, float]]] = [[] for _ in range(count)]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    transports = []
    for seen in received:
        transport, stream = await loop.create_connection(partial(Stream, request, seen), host, port)
        await stream.opened
        transports.append(transport)
    print("ready", flush=True)
    await stop.wait()
    for transport in transports:
        transport.close()
    sys.stdout.buffer.write(msgspec.json.encode({"received": received}) + b"\n")
    sys.stdout.flush()


if __name__ == "__main__":
    # What is read is kept (hundreds of thousands of tuples) and holds no cycles: with the
    # cyclic collector on, its ever longer full collections would stall the readers and
    # be counted as the server's delivery time.
    gc.disable()
    url, token, type_name, count = sys.argv[1:5]
    asyncio.run(subscribers(url, token, type_name, int(count)))
