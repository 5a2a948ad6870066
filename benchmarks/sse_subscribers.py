"""SSE subscribers for benchmarks/events_live.py, in a process of their own:

    python -m benchmarks.sse_subscribers URL TOKEN TYPE COUNT

opens COUNT streams of URL's events of TYPE as TOKEN and notes when each event is read.
It prints `ready` once all are open; on SIGTERM, {"received": [[[position, time], ...]
per subscriber], "reads": [[time, ...] per subscriber]} (`reads`: when each receive
came) as one JSON line, and ends. It imports nothing of Kumo's.

Each stream is a plain HTTP/1.1 request on an asyncio protocol, with no task woken per
read, that only notes what came and when: the chunked encoding is undone and the events
are read out of it after the run, each timed by the arrival of its last byte. A reader
as cheap as can be while the events come, so that the machine's cores go to the server
and its database (the subscribers stand for clients elsewhere).
"""

import asyncio
import gc
import signal
import sys
import time
from functools import partial
from urllib.parse import urlencode, urlsplit

import msgspec


class Stream(asyncio.BufferedProtocol):
    """One subscriber: sends its request, then keeps what it is sent with the time it came,
    to be read into events (`events`) once the benchmark is over.

    It reads into a buffer of its own: a plain protocol is handed a new bytes object of
    the transport's largest read (256 KiB) shrunk to what came, an mmap and an mremap by
    the allocator for each read."""

    def __init__(self, request: bytes) -> None:
        self.request = request
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.head = b""  # the answer's head, until it is complete
        self.received: list[tuple[bytes, float]] = []  # the body as it came, and when
        self.buffer = memoryview(bytearray(65_536))

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.write(self.request)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.buffer

    def buffer_updated(self, nbytes: int) -> None:
        data = self.buffer[:nbytes].tobytes()
        if self.opened.done():
            self.received.append((data, time.time()))
            return
        self.head += data
        end = self.head.find(b"\r\n\r\n")
        if end < 0:
            return
        head, body = self.head[:end], self.head[end + 4 :]
        status = head.split(b"\r\n", 1)[0]
        if b" 200 " not in status or b"chunked" not in head.lower():
            self.opened.set_exception(RuntimeError(head.decode(errors="replace")))
            return
        self.opened.set_result(None)
        self.received.append((body, time.time()))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed before the answer"))

    def events(self) -> list[tuple[int, float]]:
        """(position, time) of each event received: the time its last byte came."""
        seen: list[tuple[int, float]] = []
        raw = text = b""  # not yet undone from its chunks; not yet split into messages
        for data, at in self.received:
            raw += data
            while (line := raw.find(b"\r\n")) >= 0:
                size = int(raw[:line].split(b";", 1)[0], 16)
                start = line + 2
                if len(raw) < start + size + 2:
                    break
                text += raw[start : start + size]
                raw = raw[start + size + 2 :]
            *messages, text = text.split(b"\n\n")
            for message in messages:
                if message.startswith(b"id: "):
                    seen.append((int(message[4 : message.index(b"\n")]), at))
        return seen


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
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    opened = []
    for _ in range(count):
        opened.append(await loop.create_connection(partial(Stream, request), host, port))
        await opened[-1][1].opened
    print("ready", flush=True)
    await stop.wait()
    for transport, _ in opened:
        transport.close()
    received = [stream.events() for _, stream in opened]
    reads = [[at for _, at in stream.received] for _, stream in opened]
    sys.stdout.buffer.write(msgspec.json.encode({"received": received, "reads": reads}) + b"\n")
    sys.stdout.flush()


if __name__ == "__main__":
    # What is read is kept (tens of thousands of pieces each) and holds no cycles: with
    # the cyclic collector on, its ever longer full collections would stall the readers
    # and be counted as the server's delivery time.
    gc.disable()
    url, token, type_name, count = sys.argv[1:5]
    asyncio.run(subscribers(url, token, type_name, int(count)))
