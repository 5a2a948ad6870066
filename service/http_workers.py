"""More processes serving the HTTP APIs beside `kumo up`, as OpenStack's API services run
`workers`: one Python process uses one core at most, whatever the machine has.

`kumo up` (the primary) binds its address with SO_REUSEPORT, starts KUMO_WORKERS - 1
`kumo http-worker` processes on it and listens once they all do, so the kernel spreads
every connection over them all (a keep-alive connection stays with the process that
accepted it: one opened before the workers listened would never reach them).

A worker serves every API and takes its share of the asynchronous read models'
subscriptions (events/subscription.py); the compute host and the object reapers stay in
the primary. The primary starts a worker again when it exits, and stops every worker
when it stops itself; a worker whose primary is gone stops too (the primary holds the
write end of the worker's stdin, which ends when the primary does).
"""

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator

import msgspec

from service.config import Settings

log = logging.getLogger("kumo.workers")

RESTART_DELAY = 1.0
"""Seconds before a worker that exited is started again."""
READY_TIMEOUT = 60.0
"""Seconds the primary waits for its workers to listen before it gives up."""
READY = b"ready\n"
WORKER_COMMAND = (sys.executable, "-m", "service", "http-worker")
STOP_TIMEOUT = 15.0
"""Seconds a worker gets to finish its requests once told to stop, before it is killed."""


@contextlib.asynccontextmanager
async def http_workers(settings: Settings, database_url: str, listen: str) -> AsyncIterator[None]:
    """Keep settings.workers - 1 workers serving on `listen` (the address the primary
    bound, with its real port) while the block runs, which starts once each listens.
    RuntimeError if one does not within READY_TIMEOUT (the others are then stopped)."""
    settings = msgspec.structs.replace(settings, database_url=database_url, listen=listen)
    env = {name: value for name, value in os.environ.items() if not name.startswith("KUMO_")}
    env |= settings_env(settings)
    ready = [asyncio.Event() for _ in range(1, settings.workers)]
    supervisors = [
        asyncio.create_task(_keep_running(number, env, started))
        for number, started in enumerate(ready, start=1)
    ]
    try:
        try:
            async with asyncio.timeout(READY_TIMEOUT):
                await asyncio.gather(*(started.wait() for started in ready))
        except TimeoutError:
            raise RuntimeError(
                f"the HTTP workers did not start within {READY_TIMEOUT:g} s: see their log"
            ) from None
        yield
    finally:
        for supervisor in supervisors:
            supervisor.cancel()
        await asyncio.gather(*supervisors, return_exceptions=True)


def settings_env(settings: Settings) -> dict[str, str]:
    """The KUMO_* variables that load_settings reads back as `settings`."""
    values = msgspec.structs.asdict(settings).items()
    return {
        f"KUMO_{name.upper()}": _env_value(value) for name, value in values if value is not None
    }


def _env_value(value: object) -> str:
    """A setting as its variable holds it: tables (the image stores) in JSON."""
    if isinstance(value, dict):
        return msgspec.json.encode(value, enc_hook=str).decode()
    return str(value)


async def _keep_running(number: int, env: dict[str, str], ready: asyncio.Event) -> None:
    """Run worker `number`, again whenever it exits, until cancelled; then stop it.
    `ready` is set once it first listens."""
    while True:
        process = await asyncio.create_subprocess_exec(
            *WORKER_COMMAND, env=env, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        log.info("http worker started", extra={"worker": number, "pid": process.pid})
        try:
            if await _first_line(process) == READY:
                ready.set()
            code = await process.wait()
        except asyncio.CancelledError:
            await _stop(process)
            raise
        log.error(
            "http worker exited; starting it again",
            extra={"worker": number, "pid": process.pid, "exit_code": code},
        )
        await asyncio.sleep(RESTART_DELAY)


async def _first_line(process: asyncio.subprocess.Process) -> bytes:
    return b"" if process.stdout is None else await process.stdout.readline()


def tell_primary_ready(url: str) -> None:
    """A worker's on_ready: the line its primary waits for on the worker's stdout."""
    sys.stdout.buffer.write(READY)
    sys.stdout.flush()


async def _stop(process: asyncio.subprocess.Process) -> None:
    """SIGTERM (it drains its requests), then SIGKILL after STOP_TIMEOUT."""
    with contextlib.suppress(ProcessLookupError):  # it may have exited meanwhile
        process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()


async def primary_gone() -> None:
    """Returns once the primary that started this worker has exited (its stdin ends)."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), sys.stdin
    )
    try:
        while await reader.read(4096):
            pass
    finally:
        transport.close()
