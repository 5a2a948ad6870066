"""Buckets: ListBuckets, CreateBucket, HeadBucket, DeleteBucket and GetBucketLocation;
a bucket is a container of the caller's project (the same one Swift shows)."""

import contextlib
import re

from aiohttp import web

from service.auth import caller
from service.errors import Conflict, NotFound
from service.objects import directory as rm
from service.objects.api.common import db, policies, project_of, record, require_owner
from service.objects.api.container import readable, remove_container
from service.objects.events import ContainerCreated
from service.objects.naming import container_stream
from service.objects.s3 import document
from service.objects.s3.errors import (
    BucketAlreadyOwnedByYou,
    BucketNotEmpty,
    InvalidBucketName,
    NoSuchBucket,
)
from service.objects.s3.uploads import SEGMENTS, segments_of

_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
"""S3's rule for new bucket names (DNS-compatible); Swift's other containers are
reachable under their own names."""
_PAGE = 1000


def owner(request: web.Request) -> str:
    """The Owner element: the project owns its buckets."""
    context = caller(request)
    return document.nested(
        "Owner",
        document.element("ID", project_of(request)),
        document.element("DisplayName", context.project_name or project_of(request)),
    )


async def list_buckets(request: web.Request) -> web.Response:
    """ListAllMyBucketsResult: every container of the project, with its creation time,
    but the ones multipart uploads keep their parts in."""
    project_id = require_owner(request)
    buckets: list[str] = []
    page = rm.Page()
    while True:
        rows = await rm.containers_page(db(request), project_id, page, _PAGE)
        buckets += [
            document.nested(
                "Bucket",
                document.element("Name", row.name),
                document.element("CreationDate", document.timestamp(row.created_at)),
            )
            for row in rows
            if not row.name.endswith(SEGMENTS)
        ]
        if len(rows) < _PAGE:
            break
        page = rm.Page(marker=rows[-1].name)
    return document.answer(
        "ListAllMyBucketsResult", owner(request), document.nested("Buckets", *buckets)
    )


async def create_bucket(request: web.Request) -> web.Response:
    """200 with its Location (the bucket under the default storage policy); 400 for a
    name S3 refuses, 409 when it exists already."""
    project_id = require_owner(request)
    name = request.match_info["container"]
    if not _BUCKET_NAME.fullmatch(name) or ".." in name:
        raise InvalidBucketName()
    if await rm.container(db(request), project_id, name) is not None:
        raise BucketAlreadyOwnedByYou()
    event = ContainerCreated(
        project_id=project_id,
        container=name,
        metadata={},
        storage_policy=policies(request).default,
    )
    await record(request, container_stream(project_id, name), [event], answer=200)
    return web.Response(headers={"Location": f"/{name}"})


async def head_bucket(request: web.Request) -> web.Response:
    """200 when the caller may list the bucket; 404 when it does not exist, 403."""
    await readable_bucket(request)
    return web.Response()


async def readable_bucket(request: web.Request) -> rm.CountedContainer:
    """The path's bucket once the caller may list it (403), else NoSuchBucket."""
    try:
        container, _ = await readable(request)
    except NotFound:
        raise NoSuchBucket() from None
    return container


async def delete_bucket(request: web.Request) -> web.Response:
    """204, and its segments container goes too if empty; 404 NoSuchBucket, 409
    BucketNotEmpty while it holds objects."""
    project_id, name = require_owner(request), request.match_info["container"]
    try:
        await remove_container(request, project_id, name)
    except NotFound:
        raise NoSuchBucket() from None
    except Conflict:
        raise BucketNotEmpty() from None
    with contextlib.suppress(NotFound, Conflict):
        await remove_container(request, project_id, segments_of(name))
    return web.Response(status=204)


async def bucket_location(request: web.Request) -> web.Response:
    """The LocationConstraint: empty, as S3 answers for its default region."""
    await readable_bucket(request)
    return document.answer("LocationConstraint")
