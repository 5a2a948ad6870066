"""Bulk delete (`POST /v1/AUTH_<project>?bulk-delete`, a body of `/container/object` or
`/container` lines) and the result body it shares with SLO deletes."""

from urllib.parse import unquote
from xml.sax.saxutils import escape

import msgspec
from aiohttp import web

from service.errors import ApiError, BadRequest, NotFound
from service.objects import directory as rm
from service.objects.api.common import db, must_get_container, now, record, require_owner
from service.objects.api.writes import delete_current
from service.objects.events import ContainerDeleted
from service.objects.listing import response_format
from service.objects.naming import container_stream

MAX_DELETES_PER_REQUEST = 10000
MAX_FAILED_DELETES = 1000


class BulkResult(
    msgspec.Struct,
    kw_only=True,
    rename={
        "deleted": "Number Deleted",
        "not_found": "Number Not Found",
        "status": "Response Status",
        "body": "Response Body",
        "errors": "Errors",
    },
):
    """Swift's bulk middleware result, in its field names."""

    deleted: int = 0
    not_found: int = 0
    status: str = "200 OK"
    body: str = ""
    errors: list[tuple[str, str]] = []


_CONTENT_TYPES = {"json": "application/json", "xml": "application/xml", "plain": "text/plain"}
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def content_type_of(form: str) -> str:
    """The content type of a result in `form` (json, xml or plain)."""
    return _CONTENT_TYPES[form]


def result_body(result: msgspec.Struct, root: str, form: str) -> bytes:
    """A bulk result as Swift writes it: JSON, XML under `root` (its fields by name in
    lower case, then the errors; no declaration), or plain text ("Name: value" lines,
    then "Errors:")."""
    fields = msgspec.to_builtins(result)
    errors: list[list[str]] = fields.pop("Errors")
    if form == "json":
        return msgspec.json.encode({**fields, "Errors": errors})
    if form == "xml":
        lines = [f"<{root}>"]
        for name in sorted(fields):
            tag = name.replace(" ", "_").lower()
            lines.append(f"<{tag}>{escape(str(fields[name]))}</{tag}>")
        lines.append("<errors>")
        lines += [
            f"<object><name>{escape(path)}</name><status>{escape(status)}</status></object>"
            for path, status in errors
        ]
        lines += ["</errors>", f"</{root}>"]
        return ("\n".join(lines) + "\n").encode()
    lines = [f"{name}: {fields[name]}" for name in sorted(fields)]
    lines += ["Errors:", *(f"{path}, {status}" for path, status in errors)]
    return ("\n".join(lines) + "\n").encode()


def result_response(request: web.Request, result: msgspec.Struct, root: str) -> web.Response:
    """200 with the result as the Accept header asks: JSON, XML, or else plain text."""
    form = response_format(None, request.headers)
    opening = XML_DECLARATION if form == "xml" else b""
    body = opening + result_body(result, root, form)
    return web.Response(body=body, content_type=content_type_of(form))


async def delete_path(request: web.Request, project_id: str, path: str) -> None:
    """Delete `/container/object` (behind a delete marker where versioning is enabled) or
    the empty `/container`; raises NotFound, Conflict."""
    container_name, _, name = unquote(path).strip().lstrip("/").partition("/")
    container = await must_get_container(request, project_id, container_name)
    if not name:
        await record(
            request,
            container_stream(project_id, container.name),
            [ContainerDeleted(project_id=project_id, container=container.name)],
        )
        return
    row = await rm.stored_object(db(request), project_id, container.name, name)
    if row is None or row.expired(now(request).timestamp()):
        raise NotFound()
    await delete_current(request, container, row, answer=None)


async def delete_paths(request: web.Request, project_id: str, paths: list[str]) -> BulkResult:
    """Delete each path, counting what was deleted, not found, or failed."""
    result = BulkResult()
    for path in paths:
        try:
            await delete_path(request, project_id, path)
            result.deleted += 1
        except NotFound:
            result.not_found += 1
        except ApiError as error:
            result.errors.append((path, f"{error.code} {error.title}"))
            if len(result.errors) >= MAX_FAILED_DELETES:
                break
    if result.errors:
        result.status = "400 Bad Request"
    return result


async def bulk_delete(request: web.Request) -> web.Response:
    project_id = require_owner(request)
    text = (await request.read()).decode(errors="replace")
    paths = [line for line in text.splitlines() if line.strip()]
    if len(paths) > MAX_DELETES_PER_REQUEST:
        raise BadRequest(f"Maximum Bulk Deletes: {MAX_DELETES_PER_REQUEST} per request")
    return result_response(request, await delete_paths(request, project_id, paths), "delete")
