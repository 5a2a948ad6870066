"""Measuring large transfers: throughput of one timed action, and a process's peak RSS."""

import threading
import time
from collections.abc import Awaitable, Callable

import msgspec
import psutil

MiB = 1024 * 1024
CHUNK = MiB


class Transfer(msgspec.Struct):
    mib_per_s: float
    seconds: float


class RssSampler:
    """Peak resident memory of one process, sampled every 20 ms in a thread."""

    def __init__(self, pid: int):
        self.process = psutil.Process(pid)
        self.before = self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.process.memory_info().rss)

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
