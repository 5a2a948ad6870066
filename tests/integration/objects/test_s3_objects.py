"""The S3 API's objects, through boto3, on the local and S3 backends: the same objects
the Swift API serves."""

import asyncio
import base64
import hashlib

import pytest

from tests.integration.objects.conftest import Swift
from tests.integration.objects.s3_client import S3


@pytest.fixture(params=["local", "s3"])
def object_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_put_get_head_delete(s3: S3, swift: Swift) -> None:
    body = b"hello, world"
    put = await s3.call(
        "put_object",
        Bucket="bkt",
        Key="dir/hello.txt",
        Body=body,
        ContentType="text/plain",
        Metadata={"color": "blue"},
    )
    assert put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    got = await s3.call("get_object", Bucket="bkt", Key="dir/hello.txt")
    assert got["Body"] == body
    assert got["ContentType"] == "text/plain"
    assert got["Metadata"] == {"color": "blue"}
    assert got["ETag"] == put["ETag"]
    head = await s3.call("head_object", Bucket="bkt", Key="dir/hello.txt")
    assert head["ContentLength"] == len(body)
    swift_get = await swift.call("GET", "bkt/dir/hello.txt")
    assert await swift_get.read() == body
    assert swift_get.headers["X-Object-Meta-Color"] == "blue"
    await s3.call("delete_object", Bucket="bkt", Key="dir/hello.txt")
    await s3.call("delete_object", Bucket="bkt", Key="dir/hello.txt")
    assert await s3.error("get_object", Bucket="bkt", Key="dir/hello.txt") == (404, "NoSuchKey")
    assert await s3.error("head_object", Bucket="bkt", Key="dir/hello.txt") == (404, "404")


async def test_ranges_and_conditions(s3: S3) -> None:
    await s3.call("put_object", Bucket="bkt", Key="k", Body=b"0123456789")
    part = await s3.call("get_object", Bucket="bkt", Key="k", Range="bytes=2-5")
    assert part["Body"] == b"2345"
    assert part["ContentRange"] == "bytes 2-5/10"
    assert await s3.error("get_object", Bucket="bkt", Key="k", Range="bytes=20-30") == (
        416,
        "InvalidRange",
    )
    etag = (await s3.call("head_object", Bucket="bkt", Key="k"))["ETag"]
    assert await s3.error("get_object", Bucket="bkt", Key="k", IfMatch='"nope"') == (
        412,
        "PreconditionFailed",
    )
    assert await s3.error("get_object", Bucket="bkt", Key="k", IfNoneMatch=etag) == (304, "304")


async def test_content_md5_is_checked(s3: S3) -> None:
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    assert await s3.error("put_object", Bucket="bkt", Key="k", Body=b"data", ContentMD5=wrong) == (
        400,
        "BadDigest",
    )
    assert await s3.error("get_object", Bucket="bkt", Key="k") == (404, "NoSuchKey")


async def test_copy(s3: S3) -> None:
    await s3.call("put_object", Bucket="bkt", Key="src", Body=b"bytes", Metadata={"a": "1"})
    await s3.call("create_bucket", Bucket="other")
    copied = await s3.call("copy_object", Bucket="other", Key="dst", CopySource="bkt/src")
    assert copied["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(b"bytes").hexdigest()}"'
    got = await s3.call("get_object", Bucket="other", Key="dst")
    assert (got["Body"], got["Metadata"]) == (b"bytes", {"a": "1"})
    await s3.call(
        "copy_object",
        Bucket="bkt",
        Key="src",
        CopySource={"Bucket": "bkt", "Key": "src"},
        Metadata={"b": "2"},
        MetadataDirective="REPLACE",
    )
    assert (await s3.call("head_object", Bucket="bkt", Key="src"))["Metadata"] == {"b": "2"}
    assert await s3.error("copy_object", Bucket="bkt", Key="x", CopySource="bkt/missing") == (
        404,
        "NoSuchKey",
    )


async def test_delete_objects(s3: S3) -> None:
    for key in ("a", "b", "c"):
        await s3.call("put_object", Bucket="bkt", Key=key, Body=b"x")
    result = await s3.call(
        "delete_objects",
        Bucket="bkt",
        Delete={"Objects": [{"Key": "a"}, {"Key": "c"}, {"Key": "never"}]},
    )
    assert sorted(d["Key"] for d in result["Deleted"]) == ["a", "c", "never"]
    listed = await s3.call("list_objects_v2", Bucket="bkt")
    assert [o["Key"] for o in listed["Contents"]] == ["b"]


async def test_listing_with_delimiters_and_pages(s3: S3) -> None:
    keys = ["a.txt", "docs/1", "docs/2", "docs/sub/3", "pics/x y.png", "z"]
    for key in keys:
        await s3.call("put_object", Bucket="bkt", Key=key, Body=b"x")
    v2 = await s3.call("list_objects_v2", Bucket="bkt", Delimiter="/")
    assert [o["Key"] for o in v2["Contents"]] == ["a.txt", "z"]
    assert [p["Prefix"] for p in v2["CommonPrefixes"]] == ["docs/", "pics/"]
    assert v2["KeyCount"] == 4
    nested = await s3.call("list_objects_v2", Bucket="bkt", Prefix="docs/", Delimiter="/")
    assert [o["Key"] for o in nested["Contents"]] == ["docs/1", "docs/2"]
    assert [p["Prefix"] for p in nested["CommonPrefixes"]] == ["docs/sub/"]
    seen, token = [], None
    while True:
        extra = {"ContinuationToken": token} if token else {}
        page = await s3.call("list_objects_v2", Bucket="bkt", MaxKeys=2, **extra)
        seen += [o["Key"] for o in page["Contents"]]
        if not page["IsTruncated"]:
            break
        token = page["NextContinuationToken"]
    assert seen == keys
    after = await s3.call("list_objects_v2", Bucket="bkt", StartAfter="docs/sub/3")
    assert [o["Key"] for o in after["Contents"]] == ["pics/x y.png", "z"]
    v1, marker = [], ""
    while True:
        page = await s3.call("list_objects", Bucket="bkt", Delimiter="/", MaxKeys=1, Marker=marker)
        v1 += [o["Key"] for o in page.get("Contents", [])]
        v1 += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        if not page["IsTruncated"]:
            break
        marker = page["NextMarker"]
    assert v1 == ["a.txt", "docs/", "pics/", "z"]
    paginator = s3.boto.get_paginator("list_objects")
    pages = await asyncio.to_thread(
        list, paginator.paginate(Bucket="bkt", PaginationConfig={"PageSize": 4})
    )
    assert [o["Key"] for p in pages for o in p["Contents"]] == keys


async def test_keys_with_odd_characters(s3: S3, swift: Swift) -> None:
    key = "odd key+=&?é~!*'()/ünï %2F.txt"
    await s3.call("put_object", Bucket="bkt", Key=key, Body=b"odd")
    assert (await s3.call("get_object", Bucket="bkt", Key=key))["Body"] == b"odd"
    listed = await s3.call("list_objects_v2", Bucket="bkt", Prefix="odd key+")
    assert [o["Key"] for o in listed["Contents"]] == [key]
    v1 = await s3.call("list_objects", Bucket="bkt", Delimiter="/")
    assert [p["Prefix"] for p in v1["CommonPrefixes"]] == ["odd key+=&?é~!*'()/"]
    await s3.call(
        "copy_object", Bucket="bkt", Key="plain", CopySource={"Bucket": "bkt", "Key": key}
    )
    assert [o["name"] for o in await swift.json("bkt")] == [key, "plain"]
    assert (await s3.call("list_objects_v2", Bucket="bkt", MaxKeys=0))["KeyCount"] == 0


async def test_deleting_a_thousand_long_keys_at_once(s3: S3) -> None:
    keys = [f"{n:04d}/" + "/".join(["k" * 200] * 2) for n in range(1000)]
    await s3.call("put_object", Bucket="bkt", Key=keys[-1], Body=b"x")
    result = await s3.call(
        "delete_objects", Bucket="bkt", Delete={"Objects": [{"Key": k} for k in keys]}
    )
    assert len(result["Deleted"]) == 1000
    assert "Contents" not in await s3.call("list_objects_v2", Bucket="bkt")
    too_many = [{"Key": "k"}] * 1001
    assert await s3.error("delete_objects", Bucket="bkt", Delete={"Objects": too_many}) == (
        400,
        "MalformedXML",
    )
