"""FormPost: a browser's `multipart/form-data` POST to a container (or a prefix in it)
stores each file of the form as an object, without a token, as Swift's formpost
middleware.

The form's fields come before its files: `max_file_size`, `max_file_count`, `expires`,
an optional `redirect`, and `signature`, the HMAC of "path\\nredirect\\nmax_file_size\\n
max_file_count\\nexpires" under a temp URL key of the account or the container (the path
as the URL has it, or as Swift sees it: see tempurl.signed_paths). Optional fields:
`x_delete_at`/`x_delete_after`, `content-type` and `content-encoding` (or each file's
own headers). A file is stored under the URL's path plus its file name, as an ordinary
write (quotas, versioning, events). The answer is the last file's status (`201 Created`
as text), or a 303 to `redirect` with `status` and `message` added to its query.
"""

import mimetypes
from collections.abc import AsyncIterator, Mapping
from http import HTTPStatus
from urllib.parse import quote

from aiohttp import BodyPartReader, MultipartReader, web

from service.errors import ApiError, BadRequest, NotFound, Unauthorized
from service.objects import directory as rm
from service.objects import tempurl
from service.objects.api.access import Located
from service.objects.api.common import (
    OBJECT_HASHES,
    db,
    max_object_size,
    now,
    project_of,
)
from service.objects.api.writes import Attributes, put_version
from service.objects.headers import delete_at
from service.objects.naming import check_object_name
from service.storage.backend import ObjectBackend, StoredObject

MAX_VALUE_LENGTH = 4096
"""The longest field value kept; the rest of a longer one is read and dropped."""
CHUNK = 64 * 1024


def is_form(request: web.Request) -> bool:
    """Whether a POST is a form upload (multipart/form-data with a boundary)."""
    return request.content_type == "multipart/form-data" and "boundary" in request.headers.get(
        "Content-Type", ""
    )


def _integer(fields: Mapping[str, str], name: str) -> int:
    try:
        return int(fields.get(name) or 0)
    except ValueError:
        raise BadRequest(f"FormPost: {name} not an integer") from None


async def _value(part: BodyPartReader) -> str:
    """A field's value: its first MAX_VALUE_LENGTH bytes, without a trailing newline."""
    data = b""
    while len(data) < MAX_VALUE_LENGTH and (chunk := await part.read_chunk(MAX_VALUE_LENGTH)):
        data += chunk
    await part.release()
    return data[:MAX_VALUE_LENGTH].decode(errors="replace").rstrip("\r\n-")


async def _capped(part: BodyPartReader, limit: int) -> AsyncIterator[bytes]:
    """The file's bytes; BadRequest (nothing is then stored) past `limit` bytes."""
    size = 0
    while chunk := await part.read_chunk(CHUNK):
        size += len(chunk)
        if size > limit:
            raise BadRequest("FormPost: max_file_size exceeded")
        yield chunk


def _check_signature(
    request: web.Request, fields: Mapping[str, str], keys: list[str], at: float
) -> None:
    """Raises Unauthorized unless the form is unexpired and signed with one of `keys`."""
    if not keys:
        raise Unauthorized("FormPost: Invalid Signature")
    if _integer(fields, "expires") < at:
        raise Unauthorized("FormPost: Form Expired")
    signed = "\n".join(
        fields.get(name) or default
        for name, default in (
            ("redirect", ""),
            ("max_file_size", "0"),
            ("max_file_count", "0"),
            ("expires", "0"),
        )
    )
    bodies = (f"{path}\n{signed}" for path in tempurl.signed_paths(request))
    if not tempurl.signed(keys, bodies, fields.get("signature", "")):
        raise Unauthorized("FormPost: Invalid Signature")


def _attributes(
    request: web.Request, fields: Mapping[str, str], part: BodyPartReader, name: str
) -> Attributes:
    """The file's content type and encoding (the form's, else the part's) and expiry."""
    content_type = fields.get("content-type") or part.headers.get("Content-Type")
    encoding = fields.get("content-encoding") or part.headers.get("Content-Encoding")
    expiry = {
        header: fields[field]
        for field, header in (("x_delete_at", "X-Delete-At"), ("x_delete_after", "X-Delete-After"))
        if field in fields
    }
    return Attributes(
        content_type=content_type or mimetypes.guess_type(name)[0] or "application/octet-stream",
        metadata={"content-encoding": encoding} if encoding else {},
        delete_at=delete_at(expiry, now(request).timestamp()),
    )


async def _store(request: web.Request, fields: Mapping[str, str], part: BodyPartReader) -> None:
    """Check the form's signature, then store the file under the URL's path plus its
    file name, of at most max_file_size bytes and Kumo's largest object; raises the
    write's error (404 without the container, 413 over a quota)."""
    container_name = request.match_info["container"]
    prefix = request.match_info.get("object", "")
    name = prefix + (part.filename or "filename")
    found = await rm.found(db(request), project_of(request), container_name, name)
    container_metadata = found.container.metadata if found.container else {}
    keys = tempurl.keys_of(found.account_metadata, container_metadata)
    limit = min(_integer(fields, "max_file_size"), max_object_size(request))
    _check_signature(request, fields, keys, now(request).timestamp())
    if found.container is None:
        raise NotFound("The container does not exist.")
    check_object_name(name)
    attrs = _attributes(request, fields, part, name)

    async def write(backend: ObjectBackend, key: str) -> StoredObject:
        return await backend.put(key, _capped(part, limit), hashes=OBJECT_HASHES)

    place = Located(found.container, found.object, found.account_metadata)
    await put_version(request, place, name, write, attrs, known_size=None, answer=None)


async def _next(reader: MultipartReader) -> BodyPartReader | None:
    """The form's next part; BadRequest for a malformed or nested form."""
    try:
        part = await reader.next()
    except ValueError:
        raise BadRequest("FormPost: invalid starting boundary") from None
    if part is not None and not isinstance(part, BodyPartReader):
        raise BadRequest("FormPost: nested multipart forms are not supported")
    return part


async def post_form(request: web.Request) -> web.Response:
    """Store the form's files; the answer as the module says. 400 for a malformed form
    (boundary, integers, max_file_size), 401 for an expired or badly signed one, a
    file's write error (404, 413) as it is unless the form redirects."""
    fields: dict[str, str] = {}
    status, message, files = 201, "", 0
    reader = await request.multipart()
    try:
        while (part := await _next(reader)) is not None:
            if not part.filename:
                if part.name:
                    fields[part.name.lower()] = await _value(part)
                else:
                    await part.release()
                continue
            files += 1
            if files > _integer(fields, "max_file_count"):
                status, message = 400, "max file count exceeded"
                break
            await _store(request, fields, part)
    except (Unauthorized, BadRequest):
        raise
    except ApiError as error:
        if not fields.get("redirect"):
            raise
        status = error.code
    if files == 0:
        status, message = 400, "no files to process"
    return _answer(fields.get("redirect"), status, message)


def _answer(redirect: str | None, status: int, message: str) -> web.Response:
    """The status as text, or a 303 to `redirect` with status and message in its query."""
    if not redirect:
        text = f"{status} {HTTPStatus(status).phrase}"
        if message:
            text += f"\r\nFormPost: {message.title()}"
        return web.Response(status=status, text=text, content_type="text/plain")
    separator = "&" if "?" in redirect else "?"
    location = f"{redirect}{separator}status={status}&message={quote(message)}"
    body = f'<html><body><p><a href="{location}">Click to continue...</a></p></body></html>'
    headers = {"Location": location}
    return web.Response(status=303, text=body, content_type="text/html", headers=headers)
