"""A closed-loop HTTP load generator, run as its own process so it does not share the
server's interpreter: N keep-alive connections each send one request after another for S
seconds, and every response's status is checked.

It stands for clients on other machines, so its own CPU on this one is overhead: it
speaks HTTP/1.1 itself on asyncio protocols under uvloop (each request one prepared
write; a response is its status line, headers and body, by Content-Length or chunked),
about a tenth of what aiohttp's client costs a request.

Usage: python -m benchmarks.loadgen URL --method GET --concurrency 32 --seconds 10
       [--header 'Name: value' ...] [--body-file F] [--expect 200] [--cycle K]
A `{n}` in URL becomes the request's sequence number (modulo K if given), so that each
request may name an object of its own.
Prints one JSON object: requests, errors, seconds, per_s, p50_ms, p99_ms, cpu_ms.
"""

import argparse
import asyncio
import resource
import subprocess
import sys
import tempfile
import time
from typing import cast
from urllib.parse import urlsplit

import msgspec
import uvloop

from benchmarks.harness import ROOT, percentile


class LoadResult(msgspec.Struct):
    requests: int
    errors: int
    seconds: float
    per_s: float
    p50_ms: float
    p99_ms: float
    cpu_ms: float = 0.0
    """The load generator's own CPU time (user + system) per request."""


class Request(msgspec.Struct, frozen=True):
    """What each request sends: the request line's parts around the `{n}` (none: the
    whole line in `before`), then the header lines, the blank line and the body."""

    before: bytes
    after: bytes
    tail: bytes
    numbered: bool
    cycle: int | None

    def encode(self, n: int) -> bytes:
        if not self.numbered:
            return self.before + self.tail
        number = str(n % self.cycle if self.cycle else n).encode()
        return b"".join((self.before, number, self.after, self.tail))


def prepare(
    url: str, method: str, headers: dict[str, str], body: bytes | None, cycle: int | None
) -> tuple[str, int, Request]:
    """The host, port and prepared request of `url` (plain http only)."""
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname is None:
        raise ValueError(f"only http:// URLs are supported: {url}")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    before, numbered, after = target.partition("{n}")
    lines = [f"Host: {parts.netloc}", *(f"{k}: {v}" for k, v in headers.items())]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    tail = ("".join(f"{line}\r\n" for line in lines) + "\r\n").encode() + (body or b"")
    request = Request(
        f"{method} {before}".encode() + (b"" if numbered else b" HTTP/1.1\r\n"),
        f"{after} HTTP/1.1\r\n".encode(),
        tail,
        bool(numbered),
        cycle,
    )
    return parts.hostname, parts.port or 80, request


class ResponseError(Exception):
    """The server's answer was not HTTP/1.1 as this reader understands it."""


class Connection(asyncio.Protocol):
    """One keep-alive connection; `exchange` sends a request and returns the status of
    its response once the whole response has come."""

    def __init__(self, method: str) -> None:
        self._bodyless = method == "HEAD"
        self._buffer = bytearray()
        self._waiter: asyncio.Future[int] | None = None
        self._transport: asyncio.Transport | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(ConnectionError("connection lost mid-response"))

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        try:
            status = self._parse()
        except ResponseError as error:
            if self._waiter is not None and not self._waiter.done():
                self._waiter.set_exception(error)
            return
        if status is not None and self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(status)

    async def exchange(self, request: bytes) -> int:
        assert self._transport is not None
        self._waiter = asyncio.get_running_loop().create_future()
        self._transport.write(request)
        return await self._waiter

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def _parse(self) -> int | None:
        """The status of the response complete in the buffer (which is then emptied of
        it), None while it is not."""
        buffer = self._buffer
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = bytes(buffer[:end]).split(b"\r\n")
        try:
            status = int(head[0].split(b" ", 2)[1])
        except (IndexError, ValueError):
            raise ResponseError(f"not a status line: {head[0]!r}") from None
        length: int | None = None
        chunked = False
        for line in head[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection" and b"close" in value.lower():
                self.closed = True
        start = end + 4
        if self._bodyless or status in (204, 304) or 100 <= status < 200:
            length, chunked = 0, False
        if chunked:
            consumed = _chunked_end(buffer, start)
            if consumed is None:
                return None
        elif length is None:
            raise ResponseError("a response without Content-Length or chunked encoding")
        elif len(buffer) - start < length:
            return None
        else:
            consumed = start + length
        del buffer[:consumed]
        return status


def _chunked_end(buffer: bytearray, at: int) -> int | None:
    """Where a chunked body starting at `at` ends (after its trailer), None if not yet."""
    while True:
        line_end = buffer.find(b"\r\n", at)
        if line_end < 0:
            return None
        try:
            size = int(bytes(buffer[at:line_end]).split(b";")[0], 16)
        except ValueError:
            raise ResponseError("a garbled chunk size") from None
        if size == 0:
            trailer_end = buffer.find(b"\r\n\r\n", line_end)
            if trailer_end == line_end:
                return line_end + 4
            return None if trailer_end < 0 else trailer_end + 4
        at = line_end + 2 + size + 2
        if len(buffer) < at:
            return None


async def load(
    url: str,
    method: str,
    headers: dict[str, str],
    body: bytes | None,
    concurrency: int,
    seconds: float,
    expect: int,
    cycle: int | None = None,
) -> LoadResult:
    """Drive `concurrency` connections for `seconds`; responses other than `expect` and
    failed connections count as errors (a failed connection is opened again)."""
    host, port, request = prepare(url, method, headers, body, cycle)
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    errors = 0
    sequence = 0
    cpu_before = _cpu_seconds()
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal errors, sequence
        connection: Connection | None = None
        try:
            while time.perf_counter() < deadline:
                if connection is None or connection.closed:
                    _, connection = await loop.create_connection(
                        lambda: Connection(method), host, port
                    )
                n, sequence = sequence, sequence + 1
                started = time.perf_counter()
                try:
                    status = await connection.exchange(request.encode(n))
                except (ConnectionError, ResponseError):
                    connection.close()
                    connection = None
                    status = None
                if status != expect:
                    errors += 1
                latencies.append((time.perf_counter() - started) * 1000)
        finally:
            if connection is not None:
                connection.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    return LoadResult(
        requests=len(latencies),
        errors=errors,
        seconds=round(elapsed, 3),
        per_s=round(len(latencies) / elapsed, 1),
        p50_ms=round(percentile(latencies, 50), 3),
        p99_ms=round(percentile(latencies, 99), 3),
        cpu_ms=round((_cpu_seconds() - cpu_before) * 1000 / max(len(latencies), 1), 3),
    )


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def drive(
    url: str,
    *,
    method: str,
    headers: list[str],
    seconds: float,
    expect: int,
    concurrency: int = 32,
    body: bytes | None = None,
    cycle: int | None = None,
) -> LoadResult:
    """This load generator run in a process of its own against `url`; its result."""
    argv = [sys.executable, "-m", "benchmarks.loadgen", url, "--method", method]
    argv += ["--concurrency", str(concurrency), "--seconds", str(seconds)]
    argv += ["--expect", str(expect)]
    if cycle:
        argv += ["--cycle", str(cycle)]
    for header in headers:
        argv += ["--header", header]
    with tempfile.NamedTemporaryFile() as file:
        if body is not None:
            file.write(body)
            file.flush()
            argv += ["--body-file", file.name]
        out = subprocess.run(argv, cwd=ROOT, capture_output=True, check=True).stdout
    return msgspec.json.decode(out, type=LoadResult)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--method", default="GET")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--body-file")
    parser.add_argument("--expect", type=int, default=200)
    parser.add_argument("--cycle", type=int)
    args = parser.parse_args()
    headers = dict(h.split(": ", 1) for h in args.header)
    body = open(args.body_file, "rb").read() if args.body_file else None
    result = uvloop.run(
        load(
            args.url,
            args.method,
            headers,
            body,
            args.concurrency,
            args.seconds,
            args.expect,
            args.cycle,
        )
    )
    sys.stdout.write(msgspec.json.encode(result).decode() + "\n")


if __name__ == "__main__":
    main()
