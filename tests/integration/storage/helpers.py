"""Streams, readers and leftovers for the storage tests."""

import asyncio
import hashlib
import socket
import threading
from collections.abc import AsyncIterator

from service.http.socket_body import SocketReader
from service.storage import Hashes, ObjectBackend, ObjectReader
from service.storage.localfs import LocalFsBackend
from service.storage.s3 import S3Backend


class Disconnected(Exception):
    """What a client that goes away mid-upload makes the stream raise."""


async def chunks(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def broken(data: bytes) -> AsyncIterator[bytes]:
    """`data`, then the client disconnects."""
    async for chunk in chunks(data):
        yield chunk
    raise Disconnected


class SocketStream:
    """A DirectStream of `data` as a request body is one: iterated in chunks, or read
    straight from a socket (the reader of service.http.socket_body on one end of a
    socket pair, a thread sending into the other). A client that goes away after `sent`
    bytes ends the iteration with Disconnected and the socket with its close; one that
    `stalls` keeps the socket open instead."""

    def __init__(self, data: bytes, *, sent: int | None = None, stalls: bool = False):
        self.size = len(data)
        self._data = data[:sent]
        self._cut = sent is not None
        self._stalls = stalls
        self.sender: threading.Thread | None = None
        self._client: socket.socket | None = None

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in chunks(self._data):
            yield chunk
        if self._stalls:
            await asyncio.Event().wait()
        if self._cut:
            raise Disconnected

    def direct(self) -> SocketReader:
        server, self._client = socket.socketpair()
        server.setblocking(False)
        self.sender = threading.Thread(target=self._send)
        self.sender.start()
        with server:
            return SocketReader(server.fileno(), self._data[:1000], self.size - 1000)

    def _send(self) -> None:
        assert self._client is not None
        try:
            self._client.sendall(self._data[1000:])
        except BrokenPipeError:  # the reader stopped: the test says whether it should have
            pass
        if not self._stalls:
            self._client.close()

    def close(self) -> None:
        """Ends a stalled client."""
        if self._client is not None:
            self._client.close()
        if self.sender is not None:
            self.sender.join()


async def read_all(reader: ObjectReader) -> bytes:
    async with reader:
        return b"".join([chunk async for chunk in reader])


def hashes_of(data: bytes) -> Hashes:
    return Hashes(
        md5=hashlib.md5(data).hexdigest(),
        sha256=hashlib.sha256(data).hexdigest(),
        sha512=hashlib.sha512(data).hexdigest(),
    )


async def leftovers(backend: ObjectBackend) -> list[str]:
    """What a failed put may have left: temp files, or incomplete multipart uploads."""
    if isinstance(backend, LocalFsBackend):
        return [str(path) for path in backend.root.rglob("~tmp-*")]
    assert isinstance(backend, S3Backend)
    return [key async for key in backend.incomplete_uploads()]
