"""Bulk upload: `PUT /v1/AUTH_<project>[/<container>[/<prefix>]]?extract-archive=tar`
(or tar.gz, tar.bz2), as Swift's bulk middleware.

Each regular file of the archive becomes an object as its bytes arrive, named by its
path under the request's; the first segment of that path is the container, created when
missing (by the account's owner; others need the container's write ACL), and files
outside any container are skipped. Every object is an ordinary write: quotas, ACLs,
versioning and events as a PUT's. The answer is 200 whatever happened, with the outcome
in the body (JSON, XML or plain text as Accept asks); whitespace goes out while the work
outlasts HEARTBEAT, so that no proxy gives up on a long upload.
"""

import asyncio
import io
import logging
import mimetypes
import tarfile
import zlib
from collections.abc import AsyncIterator, Callable
from typing import IO, Any, Literal, TypeVar
from urllib.parse import quote

import msgspec
from aiohttp import StreamReader, web

from service.errors import ApiError, BadRequest, NotFound, Unauthorized, error_for_status
from service.objects import acl
from service.objects.api.access import Located, locate
from service.objects.api.bulk import XML_DECLARATION, content_type_of, result_body
from service.objects.api.common import (
    OBJECT_HASHES,
    auth,
    max_object_size,
    now,
    policies,
    project_of,
    record,
)
from service.objects.api.writes import Attributes, put_version
from service.objects.events import ContainerCreated
from service.objects.headers import check_limits, delete_at, metadata_change
from service.objects.listing import response_format
from service.objects.naming import check_container_name, check_object_name, container_stream
from service.storage.backend import ObjectBackend, StoredObject

log = logging.getLogger("kumo.objects")
T = TypeVar("T")

MAX_CONTAINERS_PER_EXTRACTION = 10000
MAX_FAILED_EXTRACTIONS = 1000
HEARTBEAT = web.AppKey("objects_bulk_heartbeat", float)
"""Seconds of work after which whitespace is sent; 10 (Swift's) unless a test sets it."""
_MODES: dict[str, Literal["r|", "r|gz", "r|bz2"]] = {
    "tar": "r|",
    "tar.gz": "r|gz",
    "tar.bz2": "r|bz2",
}
"""tarfile's streaming mode for each archive format."""
_XATTRS = ("SCHILY.xattr.user.", "LIBARCHIVE.xattr.user.")
"""Where GNU tar and libarchive keep a file's extended attributes in pax headers."""
CHUNK = 64 * 1024


class ExtractResult(
    msgspec.Struct,
    kw_only=True,
    rename={
        "created": "Number Files Created",
        "status": "Response Status",
        "body": "Response Body",
        "errors": "Errors",
    },
):
    """Swift's extract-archive result, in its field names."""

    created: int = 0
    status: str = "201 Created"
    body: str = ""
    errors: list[tuple[str, str]] = []


class _Aborted(Exception):
    """The whole upload stops with `error`'s status (a 401, too many containers)."""

    def __init__(self, error: ApiError) -> None:
        super().__init__(error.message)
        self.error = error


class _BadArchive(Exception):
    """The body is not an archive of the kind named, or it is cut short."""


class _Body(io.RawIOBase):
    """The request body as a blocking file for tarfile, which reads it in a worker
    thread while the event loop receives it."""

    def __init__(self, content: StreamReader, loop: asyncio.AbstractEventLoop) -> None:
        self._content = content
        self._loop = loop

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        read = asyncio.run_coroutine_threadsafe(self._content.read(len(buffer)), self._loop)
        data = read.result()
        buffer[: len(data)] = data
        return len(data)


async def _in_thread(call: Callable[[], T]) -> T:
    """`call` (a read of the archive) in a worker thread; _BadArchive when it fails."""
    try:
        return await asyncio.to_thread(call)
    except (tarfile.TarError, zlib.error, EOFError, OSError) as error:
        raise _BadArchive(str(error) or type(error).__name__) from None


class _Answer:
    """The 200 answer: a plain response when the work is quick; started with whitespace
    (XML: its declaration) once the work outlasts the heartbeat, then kept alive."""

    def __init__(self, request: web.Request, form: str) -> None:
        self._request = request
        self._form = form
        self._response: web.StreamResponse | None = None
        self._interval = request.config_dict.get(HEARTBEAT, 10.0)
        self._last = asyncio.get_running_loop().time()

    async def beat(self) -> None:
        at = asyncio.get_running_loop().time()
        if at - self._last < self._interval:
            return
        self._last = at
        if self._response is None:
            self._response = web.StreamResponse(status=200)
            self._response.content_type = content_type_of(self._form)
            await self._response.prepare(self._request)
            await self._response.write(XML_DECLARATION if self._form == "xml" else b" ")
        else:
            await self._response.write(b" ")

    async def finish(self, body: bytes) -> web.StreamResponse:
        if self._response is None:
            opening = XML_DECLARATION if self._form == "xml" else b""
            return web.Response(body=opening + body, content_type=content_type_of(self._form))
        await self._response.write(body)
        await self._response.write_eof()
        return self._response


class _Upload:
    """One extraction's state: where files go, what applies to each, what happened."""

    def __init__(self, request: web.Request, base: str) -> None:
        self.request = request
        self.base = base.strip("/")
        self.result = ExtractResult()
        self.containers: set[str] = set()
        self.created_containers = 0
        self.delete_at = delete_at(request.headers, now(request).timestamp())
        self.metadata = {
            k: v for k, v in request.headers.items() if k.lower().startswith("x-object-meta-")
        }

    async def member(self, tar: tarfile.TarFile, info: tarfile.TarInfo) -> None:
        """Store one file of the archive; its failure is counted, unless it stops all."""
        path = info.name.removeprefix("./").lstrip("/")
        path = f"{self.base}/{path}" if self.base else path
        if "/" not in path:
            return
        container, name = path.split("/", 1)
        shown = quote(path, errors="surrogateescape")  # a name's bytes that are not UTF-8
        try:
            await self._store(tar, info, container, name)
        except Unauthorized as error:
            self.result.errors.append((shown, f"{error.code} {error.title}"))
            raise _Aborted(error) from None
        except ApiError as error:
            self.result.errors.append((shown, f"{error.code} {error.title}"))
        else:
            self.result.created += 1

    async def _store(
        self, tar: tarfile.TarFile, info: tarfile.TarInfo, container: str, name: str
    ) -> None:
        try:
            f"{container}/{name}".encode()
        except UnicodeEncodeError:
            raise error_for_status(412, "Invalid UTF8") from None
        if info.size > max_object_size(self.request):
            raise error_for_status(413, "Your request is too large.")
        check_container_name(container)
        check_object_name(name)
        attrs = self._attributes(info, name)
        place = await self._place(container, name)
        reader = tar.extractfile(info)
        if reader is None:  # a regular file always has a reader; tarfile's type says less
            raise BadRequest(f"{info.name} is not a regular file")

        async def write(backend: ObjectBackend, key: str) -> StoredObject:
            chunks = _chunks(reader)
            return await backend.put(key, chunks, size_hint=info.size, hashes=OBJECT_HASHES)

        await put_version(
            self.request, place, name, write, attrs, known_size=info.size, answer=None
        )

    def _attributes(self, info: tarfile.TarInfo, name: str) -> Attributes:
        """The request's user metadata and expiry, with the file's own metadata and
        content type from its extended attributes (user.meta.*, user.mime_type)."""
        given = dict(self.metadata)
        content_type = None
        for key, value in info.pax_headers.items():
            attribute = next((key[len(x) :] for x in _XATTRS if key.startswith(x)), None)
            if attribute == "mime_type":
                content_type = value
            elif attribute is not None and attribute.startswith("meta."):
                given[f"X-Object-Meta-{attribute[len('meta.') :]}"] = value
        metadata = metadata_change(given, "object").applied_to({})
        check_limits(metadata, "object")
        return Attributes(
            content_type=content_type
            or mimetypes.guess_type(name)[0]
            or "application/octet-stream",
            metadata=metadata,
            delete_at=self.delete_at,
        )

    async def _place(self, container: str, name: str) -> Located:
        """Where the object goes, its container created first (under the default storage
        policy) when it is missing and the caller owns the account (at most
        MAX_CONTAINERS_PER_EXTRACTION of them)."""
        request = self.request
        try:
            return await locate(request, write=True, container=container, name=name)
        except NotFound:
            project_id = project_of(request)
            if container in self.containers or not acl.owns(auth(request), project_id):
                raise
        self.containers.add(container)
        self.created_containers += 1
        if self.created_containers > MAX_CONTAINERS_PER_EXTRACTION:
            limit = MAX_CONTAINERS_PER_EXTRACTION
            raise _Aborted(BadRequest(f"More than {limit} containers to create from tar."))
        created = ContainerCreated(
            project_id=project_id, container=container, storage_policy=policies(request).default
        )
        await record(request, container_stream(project_id, container), [created])
        return await locate(request, write=True, container=container, name=name)


async def _chunks(reader: IO[bytes]) -> AsyncIterator[bytes]:
    while chunk := await _in_thread(lambda: reader.read(CHUNK)):
        yield chunk


async def extract(request: web.Request, base: str) -> web.StreamResponse:
    """200 with the outcome in the body; 400 (a plain error) for an unknown archive
    format. `base` is the container, or container and prefix, the files go under."""
    mode = _MODES.get(request.query["extract-archive"].lower().strip("."))
    if mode is None:
        raise BadRequest("Unsupported archive format")
    form = response_format(None, request.headers)
    answer = _Answer(request, form)
    result = ExtractResult()
    try:
        chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
        if request.content_length is None and not chunked:
            raise _Aborted(error_for_status(411, "Length Required"))
        upload = _Upload(request, base)
        result = upload.result
        await _extract_all(request, mode, upload, answer)
    except _Aborted as aborted:
        result.status = f"{aborted.error.code} {aborted.error.title}"
        result.body = aborted.error.message
    except ApiError as error:
        result.status, result.body = f"{error.code} {error.title}", error.message
    except _BadArchive as error:
        result.status, result.body = "400 Bad Request", f"Invalid Tar File: {error}"
    except Exception:
        log.exception("extract archive failed")
        result.status = "500 Internal Server Error"
    return await answer.finish(result_body(result, "extract", form))


async def _extract_all(
    request: web.Request, mode: Literal["r|", "r|gz", "r|bz2"], upload: _Upload, answer: _Answer
) -> None:
    """Every member of the archive in turn, until it ends or too many failed."""
    body = _Body(request.content, asyncio.get_running_loop())
    tar = await _in_thread(lambda: tarfile.open(mode=mode, fileobj=body))
    result = upload.result
    with tar:
        while len(result.errors) < MAX_FAILED_EXTRACTIONS:
            await answer.beat()
            info = await _in_thread(tar.next)
            if info is None:
                break
            if info.isfile():
                await upload.member(tar, info)
    if result.errors:
        server_side = any(status.startswith("5") for _, status in result.errors)
        result.status = "502 Bad Gateway" if server_side else "400 Bad Request"
    elif not result.created:
        result.status, result.body = "400 Bad Request", "Invalid Tar File: No Valid Files"
