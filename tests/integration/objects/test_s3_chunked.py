"""aws-chunked bodies, as SDKs send them over TLS: unsigned with a checksum trailer
(boto3's own encoding, which it uses over https only, asked for here over http), and
signed chunk by chunk (each chunk's signature chained to the request's)."""

import hashlib
import hmac
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.integration.identity.conftest import Client
from tests.integration.objects.s3_client import S3

REGION = "RegionOne"


def _as_over_tls(context: dict[str, Any], **_: Any) -> None:
    """Make botocore send its checksum as a trailer of an aws-chunked body."""
    algorithm = context.get("checksum", {}).get("request_algorithm")
    if isinstance(algorithm, dict):
        algorithm["in"] = "trailer"


async def test_unsigned_chunks_with_a_trailer(s3: S3) -> None:
    for operation in ("PutObject", "UploadPart"):
        s3.boto.meta.events.register(f"before-call.s3.{operation}", _as_over_tls)
    data = bytes(range(256)) * 4096
    put = await s3.call("put_object", Bucket="bkt", Key="k", Body=data)
    assert put["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    assert (await s3.call("get_object", Bucket="bkt", Key="k"))["Body"] == data
    created = await s3.call("create_multipart_upload", Bucket="bkt", Key="m")
    part = await s3.call(
        "upload_part", Bucket="bkt", Key="m", UploadId=created["UploadId"], PartNumber=1, Body=data
    )
    assert part["ETag"] == put["ETag"]


def _chunk(key: bytes, request: AWSRequest, previous: str, data: bytes) -> tuple[bytes, str]:
    """One signed chunk and its signature."""
    scope = request.headers["Authorization"].split("Credential=")[1].split(",")[0]
    scope = scope.partition("/")[2]
    to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256-PAYLOAD",
            request.headers["X-Amz-Date"],
            scope,
            previous,
            hashlib.sha256(b"").hexdigest(),
            hashlib.sha256(data).hexdigest(),
        ]
    )
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"{len(data):x};chunk-signature={signature}\r\n".encode() + data + b"\r\n", signature


def _signed_chunks(
    s3: S3, url: str, pieces: list[bytes], *, declared: bool = True
) -> tuple[dict[str, str], bytes]:
    """The headers and body of a PUT of `pieces` signed chunk by chunk (`declared`:
    with their length in X-Amz-Decoded-Content-Length)."""
    headers = {
        "X-Amz-Content-SHA256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "Content-Encoding": "aws-chunked",
    }
    if declared:
        headers["X-Amz-Decoded-Content-Length"] = str(sum(map(len, pieces)))
    request = AWSRequest("PUT", url, headers=headers)
    SigV4Auth(Credentials(s3.access, s3.secret), "s3", REGION).add_auth(request)
    key = f"AWS4{s3.secret}".encode()
    for part in (request.headers["X-Amz-Date"][:8], REGION, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    previous = request.headers["Authorization"].rpartition("Signature=")[2]
    body = b""
    for data in [*pieces, b""]:
        chunk, previous = _chunk(key, request, previous, data)
        body += chunk
    return dict(request.headers.items()), body + b"\r\n"


async def test_signed_chunks(client: Client, s3: S3) -> None:
    url = str(client.make_url("/s3/bkt/signed"))
    pieces = [b"a" * 65536, b"b" * 1000]
    headers, body = _signed_chunks(s3, url, pieces)
    tampered = body.replace(b"b" * 10, b"c" * 10, 1)
    response = await client.session.put(url, data=tampered, headers=headers)
    assert response.status == 403
    assert "<Code>SignatureDoesNotMatch</Code>" in await response.text()
    short = body[: len(body) // 2]
    response = await client.session.put(url, data=short, headers=headers)
    assert response.status == 400
    assert await s3.error("head_object", Bucket="bkt", Key="signed") == (404, "404")
    response = await client.session.put(url, data=body, headers=headers)
    assert response.status == 200, await response.text()
    assert (await s3.call("get_object", Bucket="bkt", Key="signed"))["Body"] == b"".join(pieces)


async def test_a_chunked_body_without_its_decoded_length_is_refused(client: Client, s3: S3) -> None:
    url = str(client.make_url("/s3/bkt/k"))
    headers, body = _signed_chunks(s3, url, [b"x"], declared=False)
    response = await client.session.put(url, data=body, headers=headers)
    assert response.status == 411
    assert "<Code>MissingContentLength</Code>" in await response.text()
