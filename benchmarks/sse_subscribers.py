"""SSE subscribers for benchmarks/events_live.py, in a process of their own:

    python -m benchmarks.sse_subscribers URL TOKEN TYPE COUNT

opens COUNT streams of URL's events of TYPE as TOKEN and notes when each event is read.
It prints `ready` once all are open; on SIGTERM, {"received": [[[position, time], ...]
per subscriber]} as one JSON line, and ends. It imports nothing of Kumo's.
"""

import asyncio
import gc
import signal
import sys
import time

import aiohttp
import msgspec


async def subscribers(url: str, token: str, type_name: str, count: int) -> None:
    """`count` SSE connections to `url` as `token`, each noting when it read each event
    of `type_name` (see the module's docstring)."""
    received: list[list[tuple[int, float]]] = [[] for _ in range(count)]
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    ready = asyncio.Barrier(count + 1)
    timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
    connector = aiohttp.TCPConnector(limit=count + 1)

    async with aiohttp.ClientSession(url, timeout=timeout, connector=connector) as http:

        async def one(seen: list[tuple[int, float]]) -> None:
            query = {"types": type_name}
            async with http.get(
                "/events/v1/stream", params=query, headers={"X-Auth-Token": token}
            ) as response:
                assert response.status == 200, response.status
                await ready.wait()
                pending = b""
                async for chunk in response.content.iter_any():
                    now = time.time()
                    pending += chunk
                    *messages, pending = pending.split(b"\n\n")
                    for message in messages:
                        if message.startswith(b"id: "):
                            seen.append((int(message[4 : message.index(b"\n")]), now))

        tasks = [asyncio.create_task(one(seen)) for seen in received]
        await ready.wait()
        print("ready", flush=True)
        await stop.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    sys.stdout.buffer.write(msgspec.json.encode({"received": received}) + b"\n")
    sys.stdout.flush()


if __name__ == "__main__":
    # What is read is kept (hundreds of thousands of tuples) and holds no cycles: with the
    # cyclic collector on, its ever longer full collections would stall the readers and
    # be counted as the server's delivery time.
    gc.disable()
    url, token, type_name, count = sys.argv[1:5]
    asyncio.run(subscribers(url, token, type_name, int(count)))
