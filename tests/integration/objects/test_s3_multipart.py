"""Multipart uploads through boto3, as static large objects of parts kept in the bucket's
`+segments` container, on the local and S3 backends."""

import asyncio
import hashlib
import io

import pytest
from boto3.s3.transfer import TransferConfig

from tests.integration.objects.conftest import Swift
from tests.integration.objects.s3_client import S3

MIB = 1024 * 1024
FIRST, LAST = b"a" * (5 * MIB), b"the end"


@pytest.fixture(params=["local", "s3"])
def object_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def _upload(s3: S3, key: str, *parts: bytes) -> tuple[str, list[dict[str, object]]]:
    created = await s3.call(
        "create_multipart_upload",
        Bucket="bkt",
        Key=key,
        ContentType="text/x-big",
        Metadata={"kind": "multi"},
    )
    upload_id = created["UploadId"]
    done = []
    for number, body in enumerate(parts, 1):
        part = await s3.call(
            "upload_part", Bucket="bkt", Key=key, UploadId=upload_id, PartNumber=number, Body=body
        )
        assert part["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
        done.append({"PartNumber": number, "ETag": part["ETag"]})
    return upload_id, done


async def _refused(s3: S3, upload_id: str, parts: list[dict[str, object]]) -> tuple[int, str]:
    """The status and code of completing upload `upload_id` of `k` with `parts`."""
    return await s3.error(
        "complete_multipart_upload",
        Bucket="bkt",
        Key="k",
        UploadId=upload_id,
        MultipartUpload={"Parts": parts},
    )


async def test_an_upload_completed_is_one_object(s3: S3, swift: Swift) -> None:
    upload_id, done = await _upload(s3, "big", FIRST, LAST)
    listed = await s3.call("list_parts", Bucket="bkt", Key="big", UploadId=upload_id)
    assert [(p["PartNumber"], p["Size"]) for p in listed["Parts"]] == [(1, 5 * MIB), (2, 7)]
    await s3.call(
        "complete_multipart_upload",
        Bucket="bkt",
        Key="big",
        UploadId=upload_id,
        MultipartUpload={"Parts": done},
    )
    got = await s3.call("get_object", Bucket="bkt", Key="big")
    assert got["Body"] == FIRST + LAST
    assert (got["ContentType"], got["Metadata"]) == ("text/x-big", {"kind": "multi"})
    tail = await s3.call("get_object", Bucket="bkt", Key="big", Range=f"bytes={5 * MIB - 2}-")
    assert tail["Body"] == b"aathe end"
    assert (await swift.call("HEAD", "bkt/big")).headers["X-Static-Large-Object"] == "True"
    assert [b["Name"] for b in (await s3.call("list_buckets"))["Buckets"]] == ["bkt"]
    assert len(await swift.json("bkt+segments")) == 2
    await s3.call("delete_object", Bucket="bkt", Key="big")
    assert await swift.json("bkt+segments") == []
    await s3.call("delete_bucket", Bucket="bkt")
    assert await swift.json() == []


async def test_abort_and_refusals(s3: S3, swift: Swift) -> None:
    upload_id, done = await _upload(s3, "k", b"small", b"parts")
    assert await _refused(s3, upload_id, done) == (400, "EntityTooSmall")
    wrong = [{"PartNumber": 1, "ETag": '"0123456789abcdef0123456789abcdef"'}]
    assert await _refused(s3, upload_id, wrong) == (400, "InvalidPart")
    backwards = [done[1], done[0]]
    assert await _refused(s3, upload_id, backwards) == (400, "InvalidPartOrder")
    await s3.call("abort_multipart_upload", Bucket="bkt", Key="k", UploadId=upload_id)
    assert await swift.json("bkt+segments") == []
    assert await s3.error("list_parts", Bucket="bkt", Key="k", UploadId=upload_id) == (
        404,
        "NoSuchUpload",
    )
    assert await s3.error("get_object", Bucket="bkt", Key="k") == (404, "NoSuchKey")


async def test_boto3s_managed_transfer(s3: S3) -> None:
    data = bytes(range(256)) * (48 * 1024)  # 12 MiB: three parts
    config = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB)
    await asyncio.to_thread(
        s3.boto.upload_fileobj, io.BytesIO(data), "bkt", "file.bin", Config=config
    )
    head = await s3.call("head_object", Bucket="bkt", Key="file.bin")
    assert head["ContentLength"] == len(data)
    target = io.BytesIO()
    await asyncio.to_thread(s3.boto.download_fileobj, "bkt", "file.bin", target, Config=config)
    assert target.getvalue() == data


async def test_parts_copied_from_objects(s3: S3) -> None:
    data = bytes(range(256)) * (44 * 1024)  # 11 MiB: three parts copied by range
    await s3.call("put_object", Bucket="bkt", Key="source", Body=data)
    config = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB)
    source = {"Bucket": "bkt", "Key": "source"}
    await asyncio.to_thread(s3.boto.copy, source, "bkt", "copy", Config=config)
    assert (await s3.call("get_object", Bucket="bkt", Key="copy"))["Body"] == data
    upload_id, _ = await _upload(s3, "whole")
    copy = {"Bucket": "bkt", "Key": "whole", "UploadId": upload_id, "PartNumber": 1}
    beyond = f"bytes=0-{len(data)}"
    assert await s3.error(
        "upload_part_copy", **copy, CopySource="bkt/source", CopySourceRange=beyond
    ) == (400, "InvalidArgument")
    part = await s3.call("upload_part_copy", **copy, CopySource="bkt/source")
    etag = part["CopyPartResult"]["ETag"]
    assert etag == f'"{hashlib.md5(data).hexdigest()}"'
    await s3.call(
        "complete_multipart_upload",
        Bucket="bkt",
        Key="whole",
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
    )
    assert (await s3.call("get_object", Bucket="bkt", Key="whole"))["Body"] == data


async def test_uploads_in_progress_are_listed(s3: S3) -> None:
    assert "Uploads" not in await s3.call("list_multipart_uploads", Bucket="bkt")
    ids = {}
    for key in ("b", "a/x", "a", "b"):
        upload_id, _ = await _upload(s3, key, b"part")
        ids.setdefault(key, []).append(upload_id)
    listed = await s3.call("list_multipart_uploads", Bucket="bkt")
    expected = [(k, i) for k in ("a", "a/x", "b") for i in sorted(ids[k])]
    assert [(u["Key"], u["UploadId"]) for u in listed["Uploads"]] == expected
    paginator = s3.boto.get_paginator("list_multipart_uploads")
    pages = await asyncio.to_thread(
        list, paginator.paginate(Bucket="bkt", PaginationConfig={"PageSize": 1})
    )
    assert [(u["Key"], u["UploadId"]) for p in pages for u in p["Uploads"]] == expected
    under = await s3.call("list_multipart_uploads", Bucket="bkt", Prefix="a/")
    assert [u["Key"] for u in under["Uploads"]] == ["a/x"]
    await s3.call("abort_multipart_upload", Bucket="bkt", Key="a", UploadId=ids["a"][0])
    left = await s3.call("list_multipart_uploads", Bucket="bkt")
    assert [u["Key"] for u in left["Uploads"]] == ["a/x", "b", "b"]
