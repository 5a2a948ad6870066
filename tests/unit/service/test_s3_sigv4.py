"""SigV4 as S3 checks it, against the examples of AWS's S3 signing documentation."""

from datetime import UTC, datetime, timedelta

import pytest
from multidict import CIMultiDict, CIMultiDictProxy, MultiDict, MultiDictProxy

from service.objects.s3 import sigv4
from service.objects.s3.errors import (
    AccessDenied,
    AuthorizationHeaderMalformed,
    InvalidRequest,
    NotImplementedHere,
    RequestTimeTooSkewed,
    SignatureDoesNotMatch,
)

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
WHEN = datetime(2013, 5, 24, tzinfo=UTC)
HEADERS = CIMultiDictProxy(
    CIMultiDict(
        {
            "Host": "examplebucket.s3.amazonaws.com",
            "Range": "bytes=0-9",
            "x-amz-content-sha256": EMPTY_SHA256,
            "x-amz-date": "20130524T000000Z",
        }
    )
)
AUTHORIZATION = (
    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
    "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
    "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
)
NO_QUERY: MultiDictProxy[str] = MultiDictProxy(MultiDict())


def test_the_get_object_example_verifies() -> None:
    signed = sigv4.from_header(AUTHORIZATION, HEADERS)
    assert signed.access_key == "AKIAIOSFODNN7EXAMPLE"
    canonical = sigv4.canonical_request(signed, "GET", "/test.txt", NO_QUERY, HEADERS)
    sigv4.check_signature(SECRET, signed, canonical)
    sigv4.check_time(signed, WHEN + timedelta(minutes=14))
    with pytest.raises(SignatureDoesNotMatch):
        sigv4.check_signature("another secret", signed, canonical)
    other = sigv4.canonical_request(signed, "GET", "/other.txt", NO_QUERY, HEADERS)
    with pytest.raises(SignatureDoesNotMatch):
        sigv4.check_signature(SECRET, signed, other)


def test_a_request_15_minutes_off_is_refused() -> None:
    signed = sigv4.from_header(AUTHORIZATION, HEADERS)
    for skew in (timedelta(minutes=16), -timedelta(minutes=16)):
        with pytest.raises(RequestTimeTooSkewed):
            sigv4.check_time(signed, WHEN + skew)


def test_the_presigned_example_verifies_until_it_expires() -> None:
    query = MultiDictProxy(
        MultiDict(
            {
                "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
                "X-Amz-Credential": "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request",
                "X-Amz-Date": "20130524T000000Z",
                "X-Amz-Expires": "86400",
                "X-Amz-SignedHeaders": "host",
                "X-Amz-Signature": (
                    "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
                ),
            }
        )
    )
    headers = CIMultiDictProxy(CIMultiDict({"Host": "examplebucket.s3.amazonaws.com"}))
    signed = sigv4.from_query(query, headers)
    canonical = sigv4.canonical_request(signed, "GET", "/test.txt", query, headers)
    sigv4.check_signature(SECRET, signed, canonical)
    sigv4.check_time(signed, WHEN + timedelta(hours=23))
    with pytest.raises(AccessDenied):
        sigv4.check_time(signed, WHEN + timedelta(hours=25))


@pytest.mark.parametrize(
    ("authorization", "headers", "error"),
    [
        ("AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=", HEADERS, InvalidRequest),
        (
            "AWS4-HMAC-SHA256 Credential=A/20130524/us-east-1/s3/aws4_request",
            HEADERS,
            AuthorizationHeaderMalformed,
        ),
        (AUTHORIZATION.replace("20130524/", "20130525/"), HEADERS, AuthorizationHeaderMalformed),
        (AUTHORIZATION.replace("/s3/", "/ec2/"), HEADERS, AuthorizationHeaderMalformed),
        (AUTHORIZATION, CIMultiDict({"x-amz-date": "20130524T000000Z"}), InvalidRequest),
        (AUTHORIZATION, CIMultiDict({"x-amz-content-sha256": EMPTY_SHA256}), AccessDenied),
        (
            AUTHORIZATION,
            CIMultiDict(
                {
                    "x-amz-date": "20130524T000000Z",
                    "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
                }
            ),
            NotImplementedHere,
        ),
    ],
)
def test_malformed_signatures_are_refused(
    authorization: str, headers: CIMultiDict[str], error: type[Exception]
) -> None:
    with pytest.raises(error):
        sigv4.from_header(authorization, headers)


def test_the_chunked_upload_example_verifies_chunk_by_chunk() -> None:
    signed = sigv4.Signed(
        access_key="AKIAIOSFODNN7EXAMPLE",
        amz_date="20130524T000000Z",
        scope="20130524/us-east-1/s3/aws4_request",
        signed_headers=(),
        signature="4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
        payload_hash=sigv4.SIGNED_CHUNKS,
    )
    chain = sigv4.ChunkChain(SECRET, signed)
    chain.check("ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648", b"a" * 65536)
    with pytest.raises(SignatureDoesNotMatch):
        chain.check("0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497", b"b" * 1024)
    chain.check("0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497", b"a" * 1024)
    chain.check("b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9", b"")
