"""Response bodies sent from a file by the kernel (os.sendfile), not copied through Python.

asyncio's own `loop.sendfile` does this on the standard loop, but uvloop (`kumo up`)
raises NotImplementedError, and aiohttp's FileResponse then falls back to reading and
writing chunks. This module does what the standard loop does, on any loop: once the
response's headers have left the transport's buffer (so the transport holds nothing
to write and, libuv or selector alike, does not touch the socket for writing), it stops
the transport reading, and a thread of the transfer's own (not one of the default
executor's few, which file I/O needs and a slow client would hold for minutes) calls
os.sendfile on the non-blocking socket, waiting for it to be writable with poll().
Nobody else writes to the connection meanwhile: aiohttp handles a connection's requests
one after another, and the request's handler is the one waiting here. Then reading
resumes, and the response goes on (more parts, its end) and the connection stays alive
for the next request.

The thread works on duplicates of the socket and file descriptors, which it closes
itself when it ends: if the transport or the file is closed meanwhile (the handler
cancelled, the server stopping), no descriptor number the thread uses can be reused for
something else. A cancelled transfer shuts the socket down, which ends the thread's wait
at once; a client that goes away ends it with EPIPE or ECONNRESET.
"""

import asyncio
import contextlib
import os
import select
import socket
from collections.abc import AsyncIterator

from aiohttp import hdrs, web
from aiohttp.abc import AbstractStreamWriter

from service.http.thread_socket import ThreadSocket
from service.storage import BackendUnavailable, ObjectReader
from service.threads import in_own_thread

_MOST_PER_CALL = 1 << 30
"""Bytes asked of one os.sendfile call (Linux sends at most 0x7ffff000 anyway)."""


@contextlib.asynccontextmanager
async def body_of(request: web.Request, response: web.StreamResponse) -> AsyncIterator[None]:
    """Prepare `response`, then send its body inside: if that fails (the client went
    away, the store failed), the connection is aborted, so that the client sees a body cut
    short, never an error page inside it, and the error is raised."""
    await response.prepare(request)
    try:
        yield
    except BaseException:
        if request.transport is not None:
            request.transport.abort()
        raise


async def send_object(
    request: web.Request, response: web.StreamResponse, reader: ObjectReader
) -> None:
    """Send the reader's bytes as the next part of `response`'s body (prepared here if it
    is not yet): with os.sendfile from the reader's file when it has one and the
    connection allows it, otherwise chunk by chunk; nothing for a HEAD request (aiohttp
    would send the bytes). The caller still closes the reader and ends the response.
    Fails as `body_of` says.
    """
    offset, count = reader.offset, reader.content_length
    async with body_of(request, response):
        if request.method == hdrs.METH_HEAD:
            return
        sent = None
        if reader.fileno is not None:
            sent = await send_file(request, response, reader.fileno, offset, count)
        if sent is None:
            async for chunk in reader:
                await response.write(chunk)
        elif sent < count:
            raise BackendUnavailable(f"object {reader.info.key!r} was truncated while sent")


async def send_file(
    request: web.Request, response: web.StreamResponse, fd: int, offset: int, count: int
) -> int | None:
    """Send `count` bytes of the open file `fd`, from `offset`, as the next part of the
    prepared `response`'s body with os.sendfile; the bytes sent, fewer than `count` only
    if the file ended first. None, and nothing sent, when the response or connection does
    not allow it (no Content-Length with room for `count` bytes, compression, TLS, no
    socket): send them another way.

    Raises ConnectionError when the client goes away; the caller then aborts the
    connection (the response cannot be completed).
    """
    writer = await response.prepare(request)
    transport = request.transport
    if (
        writer is None
        or writer.length is None  # chunked or ended by closing: framing to write
        or writer.length < count
        or response.chunked
        or response.compression
        or transport is None
        or transport.is_closing()
        or transport.get_extra_info("sslcontext") is not None
    ):
        return None
    sock = transport.get_extra_info("socket")
    if sock is None or sock.type != socket.SOCK_STREAM:
        return None
    await _flushed(transport, writer)
    reading = transport.is_reading()
    transport.pause_reading()
    transfer = _Transfer(sock.fileno(), fd, offset, count)
    try:
        sent = await transfer.run()
    finally:
        if reading and not transport.is_closing():
            transport.resume_reading()
    writer.output_size += sent
    if writer.length is not None:
        writer.length -= sent
    return sent


async def _flushed(transport: asyncio.Transport, writer: AbstractStreamWriter) -> None:
    """Wait until the transport's write buffer is empty: with a high-water mark of 0 the
    transport pauses the protocol while anything is buffered and resumes it when nothing
    is, which is what `drain` waits for. Raises ConnectionError if the connection is lost."""
    if not transport.get_write_buffer_size():
        return
    low, high = transport.get_write_buffer_limits()
    transport.set_write_buffer_limits(high=0, low=0)
    try:
        await writer.drain()
    finally:
        if not transport.is_closing():
            transport.set_write_buffer_limits(high=high, low=low)


class _Transfer:
    """One os.sendfile transfer in a thread of its own, on duplicated descriptors that
    the thread closes itself when it ends."""

    def __init__(self, sock: int, fd: int, offset: int, count: int):
        self._file = os.dup(fd)
        try:
            self._socket = ThreadSocket(sock, select.POLLOUT)
        except BaseException:
            os.close(self._file)
            raise
        self._offset = offset
        self._count = count

    async def run(self) -> int:
        """The bytes sent; raises what os.sendfile raised. If cancelled, the transfer is
        stopped and the connection shut down, and CancelledError propagates once the
        thread has ended."""
        try:
            return await in_own_thread(
                self._send_closing, stop=self._socket.stop, name="kumo-sendfile"
            )
        finally:
            self._close()  # a no-op when the thread closed them, else it never started

    def _send_closing(self) -> int:
        try:
            return self._send()
        finally:
            self._close()

    def _send(self) -> int:
        sock, sent = self._socket.socket.fileno(), 0
        while sent < self._count and not self._socket.stopped.is_set():
            try:
                n = os.sendfile(
                    sock, self._file, self._offset + sent, min(self._count - sent, _MOST_PER_CALL)
                )
            except BlockingIOError:
                self._socket.wait()
                continue
            if n == 0:  # the file ended early
                break
            sent += n
        if self._socket.stopped.is_set():
            raise ConnectionAbortedError("the transfer was stopped")
        return sent

    def _close(self) -> None:
        if self._socket.close():
            os.close(self._file)
