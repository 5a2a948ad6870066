"""A large request body that a worker thread reads straight from the connection's socket
(a DirectStream for the object backends) instead of aiohttp handing it over in pieces.

aiohttp's way costs the server about 0.6 s of CPU per GiB received here, against 0.1 s
for recv_into a buffer of one's own (benchmarks/RESULTS.md): uvloop copies each read
into a new bytes object, the parser copies the body out of it into another, each fresh
allocation faults its pages in, and every piece passes through the event loop. Taken
directly (`direct`), the bytes aiohttp already holds are handed over first, the transport
stops reading, and the thread reads the rest with recv_into on a duplicate of the socket,
waiting for it with poll() (as service/http/sendfile.py writes). aiohttp's parser never
sees the rest of the body, so the connection cannot carry another request: it is closed
after the response, which says so (`respond`).
"""

import asyncio
import contextlib
import select
import socket
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from service.http.body import body_pieces
from service.http.thread_socket import ThreadSocket

MIN_DIRECT_BYTES = 1024 * 1024
"""Smaller bodies are read by aiohttp: a thread and a closed connection cost more."""


def request_body(request: web.Request) -> "SocketBody | AsyncIterator[bytes]":
    """The request's body as a stream: a SocketBody when it has a Content-Length of at
    least MIN_DIRECT_BYTES, else its pieces as aiohttp receives them."""
    size = request.content_length
    if size is not None and size >= MIN_DIRECT_BYTES:
        return SocketBody(request, size)
    return body_pieces(request)


class SocketBody:
    """The body of `size` bytes of a request: iterate it, or take it with `direct`."""

    def __init__(self, request: web.Request, size: int):
        self.size = size
        self.taken = False
        self._request = request
        self._iterated = False

    def __aiter__(self) -> AsyncIterator[bytes]:
        self._iterated = True
        return body_pieces(self._request)

    def direct(self) -> "SocketReader | None":
        """The rest of the body for one worker thread, or None when the connection does
        not allow it (TLS, no socket, closing), the body is being iterated or aiohttp
        has received all of it."""
        request, content = self._request, self._request.content
        transport = request.transport
        if (
            self.taken
            or self._iterated
            or transport is None
            or transport.is_closing()
            or transport.get_extra_info("sslcontext") is not None
            or content.exception() is not None
            or content.is_eof()  # all of it is in aiohttp's hands already
        ):
            return None
        sock = transport.get_extra_info("socket")
        if sock is None or sock.type != socket.SOCK_STREAM:
            return None
        # In this order, with no await between: taking what aiohttp holds and ending its
        # stream (so that it does not wait for the rest after the handler) resume the
        # transport's reading; the protocol's own pause holds against any later resume of
        # aiohttp's (its flag), and from then on nothing more reaches aiohttp.
        head = content.read_nowait()
        left = self.size - content.total_bytes
        content.feed_eof()
        request.protocol.close()  # the parser would take the next request for body bytes
        request.protocol.pause_reading()
        self.taken = True
        loop = asyncio.get_running_loop()

        def gone() -> None:
            with contextlib.suppress(RuntimeError):  # the loop is closed
                loop.call_soon_threadsafe(transport.abort)

        return SocketReader(sock.fileno(), head, left, gone=gone)

    def respond(self, response: web.StreamResponse) -> web.StreamResponse:
        """`response`, saying that the connection closes after it if the body was taken."""
        if self.taken:
            response.force_close()
        return response


class SocketReader:
    """Reads `head`, then `left` more bytes from a duplicate of the socket `fd` (that
    stays open until `close`, whatever happens to the transport meanwhile). If the client
    goes away, `gone` is called (in the reading thread) before the ConnectionError is
    raised: the connection's transport, which reads nothing meanwhile, is told so."""

    def __init__(
        self, fd: int, head: bytes, left: int, *, gone: Callable[[], object] = lambda: None
    ):
        self._gone = gone
        self._socket = ThreadSocket(fd, select.POLLIN)
        self._head = memoryview(head)
        self._left = left

    def readinto(self, buffer: memoryview) -> int:
        try:
            return self._read(buffer)
        except ConnectionError:
            self._gone()
            raise

    def _read(self, buffer: memoryview) -> int:
        if self._head:
            count = min(len(buffer), len(self._head))
            buffer[:count] = self._head[:count]
            self._head = self._head[count:]
            return count
        while self._left:
            if self._socket.stopped.is_set():
                raise ConnectionAbortedError("the upload was stopped")
            try:
                count = self._socket.socket.recv_into(buffer, min(len(buffer), self._left))
            except BlockingIOError:
                self._socket.wait()
                continue
            if count == 0:
                raise ConnectionResetError(
                    f"the client closed the connection {self._left} bytes before the body's end"
                )
            self._left -= count
            return count
        return 0

    def abort(self) -> None:
        self._socket.stop()

    def close(self) -> None:
        self._socket.close()
