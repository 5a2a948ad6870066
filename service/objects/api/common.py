"""What every object storage handler shares: the store, storage policies and clock, access
checks that answer 401/403 as Swift does, loading rows that 404, and recording events."""

from collections.abc import Sequence
from datetime import datetime

from aiohttp import web

from events.clock import Clock, SystemClock
from events.postgres import Pool
from events.store import ANY, ExpectedVersion, StreamAppend
from events.types import Event
from service.audit.joining import committed, joined
from service.auth import AUTH, AuthContext
from service.errors import (
    ApiError,
    Conflict,
    Forbidden,
    NotFound,
    RequestEntityTooLarge,
    Unauthorized,
)
from service.http.keys import IDS, REQUEST_ID, STORE
from service.http.request_id import event_metadata
from service.objects import acl
from service.objects.batch import batcher
from service.objects.directory import Container, CountedContainer, container
from service.objects.headers import trans_id, x_timestamp
from service.objects.policy import STORAGE_POLICIES, StoragePolicies
from service.objects.projection import ContainerMissing, ContainerNotEmpty, PolicyConflict
from service.objects.quota import QuotaExceeded
from service.storage.backend import HashName, ObjectBackend

CLOCK = web.AppKey("objects_clock", Clock)
"""The object API's clock (expiry, temp URLs); the system clock unless a test sets it."""
_SYSTEM_CLOCK = SystemClock()
MAX_FILE_SIZE = 5 * 1024 * 1024 * 1024 + 2
"""Swift's default largest single object; bigger files are uploaded as segments."""
MAX_OBJECT_SIZE = web.AppKey("objects_max_object_size", int)
"""The largest single object this app accepts; MAX_FILE_SIZE unless set (tests lower it)."""
OBJECT_HASHES: tuple[HashName, ...] = ("md5",)
"""What a put computes for Swift, which keeps only the md5 (the ETag): every other hash
costs CPU on every byte."""


def now(request: web.Request) -> datetime:
    return request.config_dict.get(CLOCK, _SYSTEM_CLOCK).now()


def max_object_size(request: web.Request) -> int:
    return request.config_dict.get(MAX_OBJECT_SIZE, MAX_FILE_SIZE)


def db(request: web.Request) -> Pool:
    return request.config_dict[STORE].pool


def policies(request: web.Request) -> StoragePolicies:
    return request.config_dict[STORAGE_POLICIES]


def backend_of(request: web.Request, container: Container) -> ObjectBackend:
    """The backend of the container's storage policy (503 if it is not configured)."""
    return policies(request).backend(container.storage_policy)


def new_version_id(request: web.Request) -> str:
    return request.config_dict[IDS].new_id().hex


def auth(request: web.Request) -> AuthContext | None:
    """The caller, or None for an anonymous request (or one with an invalid token)."""
    return request[AUTH] if AUTH in request else None


def denied(request: web.Request) -> ApiError:
    """401 for an anonymous caller, 403 for an authenticated one."""
    return (
        Unauthorized()
        if auth(request) is None
        else Forbidden("Access was denied to this resource.")
    )


def project_of(request: web.Request) -> str:
    return request.match_info["project_id"]


def require_owner(request: web.Request) -> str:
    """The account's project id, once the caller is known to own it (else 401/403)."""
    project_id = project_of(request)
    if not acl.owns(auth(request), project_id):
        raise denied(request)
    return project_id


async def must_get_container(request: web.Request, project_id: str, name: str) -> CountedContainer:
    """The container, or NotFound."""
    found = await container(db(request), project_id, name)
    if found is None:
        raise NotFound("The resource could not be found.")
    return found


async def record(
    request: web.Request,
    stream_id: str,
    events: Sequence[Event],
    expected: ExpectedVersion = ANY,
    *,
    answer: int | None = None,
) -> datetime:
    """Append events for this request and return when they were recorded: 404 when their
    container is gone, 409 when a container to delete still holds objects or one to
    create exists under another storage policy, 413 when an object would take its
    container or account over a quota.

    `answer` is the status the request answers once this append commits, for a caller
    that does nothing after it that could fail: the request's audit record then commits
    with the events (see service/audit/joining.py).
    """
    appends = [StreamAppend(stream_id, events, expected)]
    audit = None if answer is None else joined(request, answer, appends)
    if audit is not None:
        appends.append(audit)
    try:
        result = await batcher(request.config_dict[STORE]).append(appends, event_metadata(request))
    except ContainerMissing:
        raise NotFound("The container does not exist.") from None
    except (ContainerNotEmpty, PolicyConflict):
        raise Conflict("There was a conflict when trying to complete your request.") from None
    except QuotaExceeded:
        raise RequestEntityTooLarge("Upload exceeds quota.") from None
    if audit is not None and answer is not None:
        committed(request, answer)
    return result.events[-1].recorded_at


def usage_headers(kind: str, count: int, bytes_used: int, at: datetime | None) -> dict[str, str]:
    """X-<Kind>-Object-Count, -Bytes-Used and X-Timestamp."""
    headers = {
        f"X-{kind}-Object-Count": str(count),
        f"X-{kind}-Bytes-Used": str(bytes_used),
    }
    if at is not None:
        headers["X-Timestamp"] = x_timestamp(at)
    return headers


def header_case(name: str) -> str:
    """`x-object-meta-color` as Swift sends it: `X-Object-Meta-Color`."""
    return "-".join(part.capitalize() for part in name.split("-"))


async def swift_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare of the object app: every response carries X-Trans-Id and a
    Content-Type, 204s included, as Swift's do."""
    request_id = request.get(REQUEST_ID)
    if request_id is not None:
        response.headers["X-Trans-Id"] = trans_id(request_id, now(request))
    response.headers.setdefault("Content-Type", "text/html; charset=UTF-8")
