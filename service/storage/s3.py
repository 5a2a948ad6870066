"""Objects in an S3 bucket (AWS, Ceph RGW, MinIO, moto) through aiobotocore.

The only module that imports aiobotocore. One client per backend, opened by `start`
(or `async with`) and closed by `close`.

A put of at most `multipart_threshold` bytes is buffered and sent as one PutObject, with
the hashes it computed as user metadata (`x-amz-meta-md5`, `-sha256`, `-sha512`). A
larger one is a multipart upload of `part_size` parts (S3 allows 5 MiB to 5 GiB, at most
10,000 parts, so the default 8 MiB parts cap an object at 78 GiB); any failure aborts it,
so no parts are left behind (if the abort itself fails, a bucket lifecycle rule for
incomplete multipart uploads is the backstop). S3 cannot add metadata once a multipart
upload is complete, so `head` returns no hashes for those objects and their etag is S3's
`<md5 of md5s>-<parts>`; the caller's catalog keeps the hashes `put` returned.

`copy` is one server-side CopyObject, which S3 limits to 5 GiB sources (a multipart copy
for larger ones is not implemented). `delete` asks HeadObject first, since DeleteObject
does not say whether the key existed.
"""

from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Collection, Iterator
from contextlib import AsyncExitStack, aclosing, contextmanager, suppress
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Literal, cast

import aiohttp
import msgspec
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import BotoCoreError, ClientError

from service.storage.backend import (
    ALL_HASHES,
    BackendUnavailable,
    Hashes,
    HashName,
    ObjectBackend,
    ObjectNotFound,
    ObjectReader,
    RangeNotSatisfiable,
    StorageError,
    StoredObject,
    check_key,
    check_range,
)
from service.storage.digest import Block, Digest, hashed_blocks

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client
    from types_aiobotocore_s3.literals import BucketLocationConstraintType
    from types_aiobotocore_s3.type_defs import CompletedPartTypeDef, GetObjectRequestTypeDef

MiB = 1024 * 1024
MIN_PART_SIZE = 5 * MiB
MAX_PART_SIZE = 5 * 1024 * MiB
CHUNK_SIZE = MiB
_TRANSPORT_ERRORS = (BotoCoreError, aiohttp.ClientError, OSError)
CHECKSUMS: dict[str, Any] = {
    "request_checksum_calculation": "when_supported",
    "response_checksum_validation": "when_required",
}
"""The client's own checksums: uploads carry botocore's CRC, which the store checks; a
download's CRC is not recomputed here (0.3 CPU s a GiB), since every reader of Kumo's
objects gets their MD5 (ETag, Content-MD5, an image's checksum) to check end to end."""


class S3Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Where the bucket is and how to talk to it; credentials of None use boto's chain."""

    bucket: str
    endpoint_url: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    region: str = "us-east-1"
    addressing_style: Literal["auto", "path", "virtual"] = "path"
    create_bucket: bool = False
    multipart_threshold: int = 16 * MiB
    part_size: int = 8 * MiB
    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    max_attempts: int = 3

    def __post_init__(self) -> None:
        if not MIN_PART_SIZE <= self.part_size <= MAX_PART_SIZE:
            raise ValueError(f"part_size must be 5 MiB to 5 GiB, got {self.part_size}")


class S3Backend(ObjectBackend):
    """Stores each object as one S3 object of the same key in `settings.bucket`."""

    def __init__(self, settings: S3Settings):
        self.settings = settings
        self._where = settings.endpoint_url or f"S3 region {settings.region}"
        self._exits = AsyncExitStack()
        self._s3: S3Client | None = None

    async def start(self) -> None:
        """Opens the client and, if `create_bucket`, makes the bucket unless it exists."""
        settings = self.settings
        config = AioConfig(
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            retries={"max_attempts": settings.max_attempts, "mode": "standard"},
            s3={"addressing_style": settings.addressing_style},
            **CHECKSUMS,
        )
        self._s3 = await self._exits.enter_async_context(
            get_session().create_client(
                "s3",
                region_name=settings.region,
                endpoint_url=settings.endpoint_url,
                aws_access_key_id=settings.access_key_id,
                aws_secret_access_key=settings.secret_access_key,
                config=config,
            )
        )
        if settings.create_bucket:
            try:
                await self._ensure_bucket()
            except BaseException:
                await self.close()
                raise

    async def close(self) -> None:
        self._s3 = None
        await self._exits.aclose()

    async def put(
        self,
        key: str,
        stream: AsyncIterable[bytes],
        *,
        size_hint: int | None = None,
        expected_md5: str | None = None,
        hashes: Collection[HashName] = ALL_HASHES,
    ) -> StoredObject:
        """As ObjectBackend.put. Up to `multipart_threshold` bytes are buffered to see
        whether one PutObject will do; a `size_hint` above it starts the multipart upload
        at the first block instead."""
        check_key(key)
        threshold = self.settings.multipart_threshold
        digest = Digest(hashes)
        async with aclosing(hashed_blocks(stream, self.settings.part_size, digest)) as blocks:
            buffered: list[Block] = []
            limit = threshold if size_hint is None or size_hint <= threshold else 0
            async for block in blocks:
                buffered.append(block)
                if digest.size > limit:
                    break
            else:
                stored = digest.verify(key, expected_md5)
                body = b"".join(piece for block in buffered for piece in block)
                return await self._put_whole(key, body, stored)
            return await self._put_parts(key, _chain(buffered, blocks), digest, expected_md5)

    async def get(
        self, key: str, *, byte_range: tuple[int, int | None] | None = None
    ) -> ObjectReader:
        check_key(key)
        request: GetObjectRequestTypeDef = {"Bucket": self.settings.bucket, "Key": key}
        if byte_range is not None:
            check_range(byte_range)
            start, end = byte_range
            request["Range"] = f"bytes={start}-{'' if end is None else end}"
        with self._errors(key):
            try:
                response = await self._client.get_object(**request)
            except ClientError as error:
                if _code(error) != "InvalidRange":
                    raise
                raise RangeNotSatisfiable(key, await self._size(key)) from error
        body = response["Body"]
        length = response["ContentLength"]
        whole = response.get("ContentRange")  # "bytes first-last/size" for a range
        size = int(whole.rsplit("/", 1)[1]) if whole else length
        return ObjectReader(
            _stored(key, size, response),
            offset=byte_range[0] if byte_range else 0,
            content_length=length,
            chunks=self._chunks(key, body),
            release=body.aclose,
        )

    async def head(self, key: str) -> StoredObject | None:
        check_key(key)
        with self._errors(key):
            try:
                response = await self._client.head_object(Bucket=self.settings.bucket, Key=key)
            except ClientError as error:
                if _status(error) == 404:
                    return None
                raise
        return _stored(key, response["ContentLength"], response)

    async def delete(self, key: str) -> bool:
        existed = await self.head(key) is not None
        with self._errors(key):
            await self._client.delete_object(Bucket=self.settings.bucket, Key=key)
        return existed

    async def list(self, prefix: str = "") -> AsyncIterator[str]:
        paginator = self._client.get_paginator("list_objects_v2")
        with self._errors(prefix):
            async for page in paginator.paginate(Bucket=self.settings.bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    yield item["Key"]

    async def copy(self, src: str, dst: str) -> StoredObject:
        check_key(dst)
        bucket = self.settings.bucket
        with self._errors(src):
            await self._client.copy_object(
                Bucket=bucket, Key=dst, CopySource={"Bucket": bucket, "Key": src}
            )
        return await self._head_existing(dst)

    async def incomplete_uploads(self, prefix: str = "") -> AsyncIterator[str]:
        """Keys of multipart uploads begun and neither completed nor aborted."""
        paginator = self._client.get_paginator("list_multipart_uploads")
        with self._errors(prefix):
            async for page in paginator.paginate(Bucket=self.settings.bucket, Prefix=prefix):
                for upload in page.get("Uploads", []):
                    yield upload["Key"]

    @property
    def _client(self) -> "S3Client":
        if self._s3 is None:
            raise RuntimeError("S3Backend used before start() or after close()")
        return self._s3

    async def _ensure_bucket(self) -> None:
        bucket = self.settings.bucket
        with self._errors(""):
            try:
                await self._client.head_bucket(Bucket=bucket)
            except ClientError as error:
                if _status(error) != 404:
                    raise
                region = self.settings.region
                if region == "us-east-1":
                    await self._client.create_bucket(Bucket=bucket)
                else:
                    await self._client.create_bucket(
                        Bucket=bucket,
                        # Ceph and MinIO accept regions that AWS's list does not name.
                        CreateBucketConfiguration={
                            "LocationConstraint": cast("BucketLocationConstraintType", region)
                        },
                    )

    async def _put_whole(self, key: str, body: bytes, hashes: Hashes) -> StoredObject:
        with self._errors(key):
            response = await self._client.put_object(
                Bucket=self.settings.bucket,
                Key=key,
                Body=body,
                Metadata=msgspec.to_builtins(hashes),
            )
        return _written(key, len(body), response, hashes)

    async def _put_parts(
        self, key: str, blocks: AsyncIterator[Block], digest: Digest, expected_md5: str | None
    ) -> StoredObject:
        bucket = self.settings.bucket
        with self._errors(key):
            upload = await self._client.create_multipart_upload(Bucket=bucket, Key=key)
        upload_id = upload["UploadId"]
        try:
            parts: list[CompletedPartTypeDef] = []
            async for block in blocks:
                number = len(parts) + 1
                with self._errors(key):
                    part = await self._client.upload_part(
                        Bucket=bucket,
                        Key=key,
                        UploadId=upload_id,
                        PartNumber=number,
                        Body=b"".join(block),
                    )
                parts.append({"PartNumber": number, "ETag": part["ETag"]})
            hashes = digest.verify(key, expected_md5)
            with self._errors(key):
                response = await self._client.complete_multipart_upload(
                    Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
                )
        except BaseException:
            with suppress(ClientError, *_TRANSPORT_ERRORS):
                await self._client.abort_multipart_upload(
                    Bucket=bucket, Key=key, UploadId=upload_id
                )
            raise
        return _written(key, digest.size, response, hashes)

    async def _chunks(self, key: str, body: Any) -> AsyncGenerator[bytes, None]:
        while True:
            with self._errors(key):
                block: bytes = await body.read(CHUNK_SIZE)
            if not block:
                return
            yield block

    async def _size(self, key: str) -> int:
        return (await self._head_existing(key)).size

    async def _head_existing(self, key: str) -> StoredObject:
        info = await self.head(key)
        if info is None:
            raise ObjectNotFound(key)
        return info

    @contextmanager
    def _errors(self, key: str) -> Iterator[None]:
        """Turns the client's errors into StorageErrors about `key`."""
        try:
            yield
        except ClientError as error:
            raise self._refusal(error, key) from error
        except _TRANSPORT_ERRORS as error:
            raise BackendUnavailable(
                f"object store at {self._where} is unreachable: {error}"
            ) from error

    def _refusal(self, error: ClientError, key: str) -> StorageError:
        code, status = _code(error), _status(error)
        if code in ("NoSuchKey", "NotFound", "404"):
            return ObjectNotFound(key)
        message = f"object store at {self._where} answered {status} {code} for {key!r}"
        if status >= 500 or status in (401, 403) or code == "NoSuchBucket":
            return BackendUnavailable(f"{message} (bucket {self.settings.bucket!r})")
        return StorageError(message)


async def _chain(first: list[Block], rest: AsyncIterator[Block]) -> AsyncIterator[Block]:
    """`first`'s blocks, each dropped from the list as it is yielded, then `rest`'s."""
    while first:
        yield first.pop(0)
    async for block in rest:
        yield block


def _code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


def _status(error: ClientError) -> int:
    return error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)


def _stored(key: str, size: int, response: Any) -> StoredObject:
    """What a HeadObject or GetObject response says; hashes if the metadata has them."""
    try:
        hashes: Hashes | None = msgspec.convert(response.get("Metadata", {}), Hashes)
    except msgspec.ValidationError:
        hashes = None
    return StoredObject(
        key=key,
        size=size,
        etag=response["ETag"].strip('"'),
        last_modified=response["LastModified"],
        hashes=hashes,
    )


def _written(key: str, size: int, response: Any, hashes: Hashes) -> StoredObject:
    """What a PutObject or CompleteMultipartUpload response says, dated by the store."""
    date = response["ResponseMetadata"]["HTTPHeaders"]["date"]
    return StoredObject(
        key=key,
        size=size,
        etag=response["ETag"].strip('"'),
        last_modified=parsedate_to_datetime(date),
        hashes=hashes,
    )
