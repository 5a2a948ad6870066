"""Measuring large transfers: throughput of one timed action, a process's peak RSS, and
large downloads by three clients of different cost, with what each cost the server."""

import asyncio
import contextlib
import os
import resource
import socket
import subprocess
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from urllib.parse import urlsplit

import aiohttp
import msgspec
import psutil

from benchmarks.compute import tree_cpu_seconds

MiB = 1024 * 1024
GiB = 1024 * MiB
CHUNK = MiB


class Transfer(msgspec.Struct):
    mib_per_s: float
    seconds: float


class Download(msgspec.Struct):
    """One transfer of a large body (a GET, or a PUT) by one client: its throughput, and
    the CPU seconds per GiB it took the server and the client itself (user + system)."""

    client: str
    mib_per_s: float
    seconds: float
    server_cpu_per_gib: float
    client_cpu_per_gib: float


class RssSampler:
    """Peak resident memory of a process and its children (`kumo up` and its HTTP
    workers), sampled every 20 ms in a thread."""

    def __init__(self, pid: int):
        self.process = psutil.Process(pid)
        self.before = self.peak = self._rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self._rss())

    def _rss(self) -> int:
        total = 0
        for process in (self.process, *self.process.children()):
            with contextlib.suppress(psutil.NoSuchProcess):
                total += process.memory_info().rss
        return total

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


async def timed(action: Callable[[], Awaitable[None]], size: int) -> Transfer:
    """Run `action`, which moves `size` bytes; its throughput."""
    start = time.perf_counter()
    await action()
    seconds = time.perf_counter() - start
    return Transfer(mib_per_s=round(size / MiB / seconds, 1), seconds=round(seconds, 2))


def cpu_seconds(pid: int) -> float:
    """The CPU time so far, user and system, of the process and its children."""
    return tree_cpu_seconds(psutil.Process(pid))


def _own_cpu_seconds() -> float:
    """This process's CPU time and that of its waited-for children (curl)."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


async def aiohttp_get(url: str, headers: Mapping[str, str], size: int) -> None:
    """The body read by aiohttp's client in 1 MiB pieces (what the benchmarks always did)."""
    timeout = aiohttp.ClientTimeout(total=None)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        async with http.get(url, headers=headers) as response:
            assert response.status == 200, await response.text()
            got = 0
            async for chunk in response.content.iter_chunked(CHUNK):
                got += len(chunk)
    assert got == size, (got, size)


def curl_get(url: str, headers: Mapping[str, str], size: int) -> None:
    """The body read by curl into /dev/null."""
    command = ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{size_download}"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    result = subprocess.run([*command, url], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["200", str(size)], result.stdout + result.stderr


def socket_get(url: str, headers: Mapping[str, str], size: int) -> None:
    """The body read by a plain blocking socket into one reused 1 MiB buffer: what
    receiving the bytes costs at the least, in Python."""
    parts = urlsplit(url)
    lines = [f"GET {parts.path} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    with socket.create_connection((parts.hostname, parts.port)) as conn:
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            piece = conn.recv(65536)
            assert piece, "the server closed the connection before its headers"
            head += piece
        head, body = head.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 200 "), head
        assert f"\r\ncontent-length: {size}\r\n".encode() in head.lower() + b"\r\n", head
        left = size - len(body)
        view = memoryview(bytearray(CHUNK))
        while left > 0:
            got = conn.recv_into(view, min(CHUNK, left))
            assert got, f"the body ended {left} bytes short"
            left -= got


def socket_put(url: str, headers: Mapping[str, str], block: bytes, size: int) -> None:
    """PUT `size` bytes (`block` repeated) with a Content-Length by a plain blocking socket
    that sends from that one buffer: what sending the bytes costs at the least, in Python.
    Expects a 204."""
    parts = urlsplit(url)
    lines = [f"PUT {parts.path} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"Content-Length: {size}")
    with socket.create_connection((parts.hostname, parts.port)) as conn:
        # As aiohttp and curl do: each sendall's last partial segment goes at once.
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        view = memoryview(block)
        for offset in range(0, size, len(block)):
            conn.sendall(view[: min(len(block), size - offset)])
        head = b""
        while b"\r\n\r\n" not in head:
            piece = conn.recv(65536)
            assert piece, "the server closed the connection before its reply"
            head += piece
        assert head.startswith(b"HTTP/1.1 204 "), head


def drop_page_cache() -> None:
    """Write dirty pages out and empty the page cache (root only): the next read of a file
    comes from the disk, as a `cat file > /dev/null` of a file not read lately does."""
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as control:
        control.write("3\n")


async def settle_cache(cold: bool) -> None:
    """Before a timed read: the page cache emptied when `cold`, else left as it is."""
    if cold:
        await asyncio.to_thread(drop_page_cache)


def loopback_get(fd: int, size: int) -> Transfer:
    """`size` bytes of the open file `fd` sent over loopback as barely as HTTP allows (one
    head, then os.sendfile from a thread) and read by `socket_get`: the most any server
    can reach on this machine with that client. Blocking."""
    with socket.create_server(("127.0.0.1", 0)) as listener:

        def serve() -> None:
            conn, _ = listener.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n".encode())
                sent = 0
                while sent < size:
                    sent += os.sendfile(conn.fileno(), fd, sent, size - sent)

        sender = threading.Thread(target=serve)
        sender.start()
        try:
            return socket_transfer(f"http://127.0.0.1:{listener.getsockname()[1]}/", size)
        finally:
            sender.join()


def socket_transfer(url: str, size: int) -> Transfer:
    """The `size`-byte body at `url` read by `socket_get`, timed. Blocking."""
    start = time.perf_counter()
    socket_get(url, {}, size)
    seconds = time.perf_counter() - start
    return Transfer(mib_per_s=round(size / MiB / seconds, 1), seconds=round(seconds, 2))


async def costed(
    client: str, action: Callable[[], Awaitable[None]], size: int, pid: int
) -> Download:
    """Run `action`, which moves `size` bytes to or from the server `pid`, as `client`:
    its throughput and the server's and this process's CPU seconds per GiB."""
    server, own = cpu_seconds(pid), _own_cpu_seconds()
    transfer = await timed(action, size)
    per_gib = GiB / size
    return Download(
        client,
        transfer.mib_per_s,
        transfer.seconds,
        round((cpu_seconds(pid) - server) * per_gib, 3),
        round((_own_cpu_seconds() - own) * per_gib, 3),
    )


async def downloads(
    url: str, headers: Mapping[str, str], size: int, pid: int, *, cold: bool = False
) -> list[Download]:
    """GET `url` (a body of `size` bytes) once with each client in turn: aiohttp, curl and
    a raw socket; each with the server's (`pid`) and its own CPU per GiB; each from the
    disk when `cold` (the page cache emptied first)."""
    clients: dict[str, Callable[[], Awaitable[None]]] = {
        "aiohttp": lambda: aiohttp_get(url, headers, size),
        "curl": lambda: asyncio.to_thread(curl_get, url, headers, size),
        "socket": lambda: asyncio.to_thread(socket_get, url, headers, size),
    }
    figures = []
    for client, get in clients.items():
        await settle_cache(cold)
        figures.append(await costed(client, get, size, pid))
    return figures
