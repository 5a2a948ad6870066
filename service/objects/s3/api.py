"""The S3 API's routes, relative to /s3 (path-style), each dispatching on the method and
the sub-resource its query names; and its answers' headers as S3 clients read them."""

from collections.abc import Awaitable, Callable

from aiohttp import web

from service.objects.s3 import buckets, listing, multipart, objects
from service.objects.s3.errors import NotImplementedHere

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
BUCKET = "/{container}"
OBJECT = "/{container}/{object:.+}"
SUBRESOURCES = frozenset(
    "accelerate acl analytics cors encryption intelligent-tiering inventory lifecycle logging"
    " metrics notification object-lock ownershipControls partNumber policy policyStatus"
    " publicAccessBlock replication requestPayment restore retention legal-hold select"
    " tagging torrent uploads versionId versioning versions website".split()
)
"""Query parameters naming what Kumo's S3 API does not do (501 NotImplemented)."""
_SWIFT_ONLY = frozenset({"x-timestamp", "x-static-large-object"})
_OVERRIDES = {
    f"response-{name.lower()}": name
    for name in (
        "Content-Type",
        "Content-Language",
        "Expires",
        "Cache-Control",
        "Content-Disposition",
        "Content-Encoding",
    )
}
"""GetObject's query parameters that set a header of its answer (presigned downloads)."""

routes = web.RouteTableDef()


def _plain(request: web.Request, handler: Handler) -> Awaitable[web.StreamResponse]:
    """`handler`'s answer, unless the query names a sub-resource Kumo does not serve."""
    asked = SUBRESOURCES.intersection(request.query)
    if asked:
        raise NotImplementedHere(f"{', '.join(sorted(asked))} is not implemented.")
    return handler(request)


@routes.get("", allow_head=False)
@routes.get("/", allow_head=False)
async def service(request: web.Request) -> web.StreamResponse:
    """ListBuckets."""
    return await buckets.list_buckets(request)


@routes.get(BUCKET, allow_head=False)
@routes.get(BUCKET + "/", allow_head=False)
async def get_bucket(request: web.Request) -> web.StreamResponse:
    """GetBucketLocation (?location), ListMultipartUploads (?uploads) or ListObjects (v1,
    or v2 with list-type=2)."""
    if "location" in request.query:
        return await buckets.bucket_location(request)
    if "uploads" in request.query:
        return await multipart.list_uploads(request)
    return await _plain(request, listing.list_objects)


@routes.head(BUCKET)
@routes.head(BUCKET + "/")
async def head_bucket(request: web.Request) -> web.StreamResponse:
    return await buckets.head_bucket(request)


@routes.put(BUCKET)
@routes.put(BUCKET + "/")
async def put_bucket(request: web.Request) -> web.StreamResponse:
    return await _plain(request, buckets.create_bucket)


@routes.delete(BUCKET)
@routes.delete(BUCKET + "/")
async def delete_bucket(request: web.Request) -> web.StreamResponse:
    return await _plain(request, buckets.delete_bucket)


@routes.post(BUCKET)
@routes.post(BUCKET + "/")
async def post_bucket(request: web.Request) -> web.StreamResponse:
    """DeleteObjects (?delete)."""
    if "delete" not in request.query:
        raise NotImplementedHere("Only POST ?delete is implemented on a bucket.")
    return await objects.delete_objects(request)


@routes.get(OBJECT)
async def get_object(request: web.Request) -> web.StreamResponse:
    """GetObject and HeadObject; ListParts (?uploadId)."""
    if "uploadId" in request.query:
        return await multipart.list_parts(request)
    return await _plain(request, objects.get_object)


@routes.put(OBJECT)
async def put_object(request: web.Request) -> web.StreamResponse:
    """PutObject and CopyObject; UploadPart (?uploadId&partNumber)."""
    if "uploadId" in request.query:
        return await multipart.upload_part(request)
    return await _plain(request, objects.put_object)


@routes.post(OBJECT)
async def post_object(request: web.Request) -> web.StreamResponse:
    """CreateMultipartUpload (?uploads) and CompleteMultipartUpload (?uploadId)."""
    if "uploads" in request.query:
        return await multipart.create_upload(request)
    if "uploadId" in request.query:
        return await multipart.complete_upload(request)
    raise NotImplementedHere("Only multipart uploads are POSTed to an object.")


@routes.delete(OBJECT)
async def delete_object(request: web.Request) -> web.StreamResponse:
    """DeleteObject; AbortMultipartUpload (?uploadId)."""
    if "uploadId" in request.query:
        return await multipart.abort_upload(request)
    return await _plain(request, objects.delete_key)


async def s3_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare of the S3 app: user metadata as x-amz-meta-*, quoted ETags,
    none of Swift's own headers; a GetObject's response-* overrides."""
    for name, value in list(response.headers.items()):
        lower = name.lower()
        if lower.startswith(objects.SWIFT_META):
            del response.headers[name]
            response.headers[objects.S3_META + lower[len(objects.SWIFT_META) :]] = value
        elif lower in _SWIFT_ONLY:
            del response.headers[name]
    etag = response.headers.get("ETag")
    if etag is not None and not etag.startswith('"'):
        response.headers["ETag"] = f'"{etag}"'
    if request.method == "GET" and response.status in (200, 206):
        for query, header in _OVERRIDES.items():
            if query in request.query:
                response.headers[header] = request.query[query]


ROUTES = [route for route in routes if isinstance(route, web.RouteDef)]
