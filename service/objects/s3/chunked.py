"""aws-chunked bodies (Content-Encoding: aws-chunked), which SDKs send over TLS:
`<hex size>[;chunk-signature=<sig>]\\r\\n<data>\\r\\n` pieces, a zero-size last one, then
trailer lines (a checksum) and an empty line. Signed ones have each chunk's signature
checked; the trailer is read and dropped (the md5 checks the bytes)."""

from collections.abc import AsyncIterator

from aiohttp import web

from service.objects.s3.errors import IncompleteBody, InvalidRequest
from service.objects.s3.sigv4 import ChunkChain

MAX_CHUNK = 16 * 1024 * 1024
"""The largest chunk read into memory (SDKs send 64 KiB to a few MiB)."""


async def _exactly(request: web.Request, size: int) -> bytes:
    try:
        return await request.content.readexactly(size)
    except EOFError:
        raise IncompleteBody() from None


def _size(header: bytes, chain: ChunkChain | None) -> tuple[int, str]:
    """A chunk header's size and signature ("" unsigned); 400 when malformed."""
    size_field, _, extension = header.strip().partition(b";")
    try:
        size = int(size_field, 16)
    except ValueError:
        raise IncompleteBody("A chunk's size is malformed.") from None
    if size > MAX_CHUNK:
        raise InvalidRequest(f"Chunks of more than {MAX_CHUNK} bytes are not accepted.")
    name, _, signature = extension.decode(errors="replace").partition("=")
    if chain is not None and name != "chunk-signature":
        raise IncompleteBody("A chunk of a signed body has no chunk-signature.")
    return size, signature


async def decoded(
    request: web.Request, length: int, chain: ChunkChain | None
) -> AsyncIterator[bytes]:
    """The data of the request's aws-chunked body, `length` bytes in all; each chunk's
    signature checked by `chain` when the body is signed (403 SignatureDoesNotMatch);
    400 IncompleteBody when it is malformed or of another length."""
    seen = 0
    while True:
        size, signature = _size(await request.content.readline(), chain)
        data = await _exactly(request, size)
        if chain is not None:
            chain.check(signature, data)
        if size == 0:
            break
        if await _exactly(request, 2) != b"\r\n":
            raise IncompleteBody("A chunk does not end where its size says.")
        seen += size
        if seen > length:
            raise IncompleteBody("The body is longer than x-amz-decoded-content-length.")
        yield data
    while (await request.content.readline()).strip():
        pass  # a trailer line (x-amz-checksum-*)
    if seen != length:
        raise IncompleteBody("The body is shorter than x-amz-decoded-content-length.")
