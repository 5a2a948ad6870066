"""The S3 relay ceiling: an object streamed from an S3 server to an HTTP client by the
barest relay Python allows (asyncio streams, one aiobotocore GetObject, 1 MiB reads, no
HTTP framework, no checks), in a process of its own as Kumo's server is, and read by the
plain-socket client. No download that Kumo relays from that S3 server can be faster with
that client on this machine: it is to S3 what the bare sendfile (`loopback_get`) is to
the local backend.

Run as `python -m benchmarks.relay PORT ENDPOINT BUCKET KEY` by `relay_get`.
"""

import asyncio
import subprocess
import sys
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session

from benchmarks.transfer import CHUNK, Transfer, socket_transfer
from service.embedded_postgres import free_port
from service.storage.s3 import CHECKSUMS


def s3_client(endpoint: str) -> Any:
    """An aiobotocore S3 client (to open with `async with`) for the moto server at
    `endpoint`, checking what Kumo's backend checks (no download CRC)."""
    return get_session().create_client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=AioConfig(**CHECKSUMS),
    )


def relay_get(endpoint: str, bucket: str, key: str, size: int) -> Transfer:
    """The `size`-byte object `key` read through a bare relay process by the socket
    client. Blocking."""
    port = free_port()
    command = [sys.executable, "-m", "benchmarks.relay", str(port), endpoint, bucket, key]
    with subprocess.Popen(command, stdout=subprocess.PIPE) as relay:
        try:
            assert relay.stdout is not None and relay.stdout.readline() == b"ready\n"
            return socket_transfer(f"http://127.0.0.1:{port}/", size)
        finally:
            relay.terminate()


async def serve(port: int, endpoint: str, bucket: str, key: str) -> None:
    """Answer every request with the object `key`'s bytes, as they come from S3."""
    async with s3_client(endpoint) as s3:

        async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            response = await s3.get_object(Bucket=bucket, Key=key)
            head = f"HTTP/1.1 200 OK\r\nContent-Length: {response['ContentLength']}\r\n\r\n"
            writer.write(head.encode())
            async with response["Body"] as body:
                while block := await body.read(CHUNK):
                    writer.write(block)
                    await writer.drain()
            writer.close()

        server = await asyncio.start_server(relay, "127.0.0.1", port)
        print("ready", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]), *sys.argv[2:5]))
