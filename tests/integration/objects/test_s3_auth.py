"""The S3 API's authentication: SigV4 signatures (header or presigned URL) checked against
the EC2 credential's secret, its time, and its payload hash; the credential's user acts
in its project."""

import hashlib
from datetime import timedelta

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from events.postgres import PostgresEventStore
from service.audit.events import AuditRecorded
from service.objects.naming import object_stream
from tests.integration.identity.conftest import PUBLIC_URL, Api, Client, Person, make_person
from tests.integration.objects.conftest import ShiftedClock, Swift
from tests.integration.objects.s3_client import S3, s3_of


async def test_a_wrong_secret_or_unknown_key_is_refused(client: Client, s3: S3) -> None:
    forged = S3(client, s3.access, "not-the-secret")
    assert await forged.error("list_buckets") == (403, "SignatureDoesNotMatch")
    unknown = S3(client, "no-such-access-key", s3.secret)
    assert await unknown.error("list_buckets") == (403, "InvalidAccessKeyId")


async def test_a_deleted_credential_is_refused(client: Client, s3: S3, alice: Person) -> None:
    path = f"users/{alice.user_id}/credentials/OS-EC2/{s3.access}"
    status, _ = await Api(client, alice.token).call("DELETE", path)
    assert status == 204
    assert await s3.error("list_buckets") == (403, "InvalidAccessKeyId")


async def test_a_request_from_another_time_is_refused(s3: S3, clock: ShiftedClock) -> None:
    clock.shift = timedelta(minutes=16)
    assert await s3.error("list_buckets") == (403, "RequestTimeTooSkewed")


async def test_a_user_without_roles_on_the_project_is_refused(
    client: Client, s3: S3, alice: Person, as_admin: Api
) -> None:
    _, roles = await as_admin.call("GET", "roles?name=member")
    role = roles["roles"][0]["id"]
    path = f"projects/{alice.project_id}/users/{alice.user_id}/roles/{role}"
    assert (await as_admin.call("DELETE", path))[0] == 204
    assert await s3.error("list_buckets") == (403, "AccessDenied")


async def test_an_unsigned_request_is_refused(client: Client, s3: S3) -> None:
    response = await client.get("/s3/bkt")
    assert response.status == 403
    body = await response.text()
    assert "<Code>AccessDenied</Code>" in body
    assert f"<RequestId>{response.headers['x-amz-request-id']}</RequestId>" in body


async def test_presigned_urls(client: Client, s3: S3, clock: ShiftedClock) -> None:
    await s3.call("put_object", Bucket="bkt", Key="k", Body=b"shared")
    url = s3.boto.generate_presigned_url(
        "get_object", Params={"Bucket": "bkt", "Key": "k"}, ExpiresIn=60
    )
    response = await client.session.get(url)
    assert (response.status, await response.read()) == (200, b"shared")
    download = s3.boto.generate_presigned_url(
        "get_object",
        Params={"Bucket": "bkt", "Key": "k", "ResponseContentDisposition": "attachment"},
    )
    response = await client.session.get(download)
    assert response.headers["Content-Disposition"] == "attachment"
    tampered = await client.session.get(url.replace("/k?", "/other?"))
    assert tampered.status == 403
    clock.shift = timedelta(seconds=61)
    expired = await client.session.get(url)
    assert expired.status == 403
    assert "Request has expired" in await expired.text()


async def test_a_body_that_is_not_the_signed_one_is_refused(client: Client, s3: S3) -> None:
    url = str(client.make_url("/s3/bkt/k"))
    request = AWSRequest("PUT", url, data=b"signed")
    S3SigV4Auth(Credentials(s3.access, s3.secret), "s3", "RegionOne").add_auth(request)
    assert request.headers["X-Amz-Content-SHA256"] == hashlib.sha256(b"signed").hexdigest()
    headers = dict(request.headers.items())
    response = await client.session.put(url, data=b"sent!!", headers=headers)
    assert response.status == 400
    assert "<Code>XAmzContentSHA256Mismatch</Code>" in await response.text()
    assert await s3.error("head_object", Bucket="bkt", Key="k") == (404, "404")
    response = await client.session.put(url, data=b"signed", headers=headers)
    assert response.status == 200


async def test_the_catalog_names_the_s3_endpoint(as_admin: Api) -> None:
    _, services = await as_admin.call("GET", "services?type=s3")
    (service,) = services["services"]
    _, endpoints = await as_admin.call("GET", f"endpoints?service_id={service['id']}")
    assert {e["url"] for e in endpoints["endpoints"]} == {f"{PUBLIC_URL}/s3"}


async def test_swifts_acls_decide_for_a_user_without_an_operator_role(
    client: Client, s3: S3, swift: Swift, alice: Person, as_admin: Api
) -> None:
    await s3.call("put_object", Bucket="bkt", Key="k", Body=b"shared")
    rita = await make_person(as_admin, "reader", "rita", project_id=alice.project_id)
    ritas = await s3_of(client, rita)
    assert await ritas.error("list_buckets") == (403, "AccessDenied")
    assert await ritas.error("get_object", Bucket="bkt", Key="k") == (403, "AccessDenied")
    grant = {"X-Container-Read": f"{alice.project_id}:{rita.user_id}"}
    assert (await swift.call("POST", "bkt", headers=grant)).status == 204
    assert (await ritas.call("get_object", Bucket="bkt", Key="k"))["Body"] == b"shared"
    assert [o["Key"] for o in (await ritas.call("list_objects_v2", Bucket="bkt"))["Contents"]] == [
        "k"
    ]
    assert await ritas.error("put_object", Bucket="bkt", Key="mine", Body=b"x") == (
        403,
        "AccessDenied",
    )
    grant = {"X-Container-Write": f"{alice.project_id}:{rita.user_id}"}
    assert (await swift.call("POST", "bkt", headers=grant)).status == 204
    await ritas.call("put_object", Bucket="bkt", Key="mine", Body=b"x")


async def test_s3_requests_are_audited(s3: S3, alice: Person, store: PostgresEventStore) -> None:
    put = await s3.call("put_object", Bucket="bkt", Key="k", Body=b"x")
    request_id = put["ResponseMetadata"]["HTTPHeaders"]["x-amz-request-id"]
    (record,) = await store.read_stream(f"audit-{request_id}")
    assert isinstance(record.event, AuditRecorded)
    assert (record.event.observer, record.event.status) == ("s3", 200)
    assert record.event.initiator.user_id == alice.user_id
    stream = object_stream(alice.project_id, "bkt", "k")
    assert (record.event.target.type, record.event.target.id) == (
        "object",
        stream.partition("-")[2],
    )


async def _signed(client: Client, s3: S3, method: str, path: str, body: bytes = b"") -> str:
    """The status and S3 error code (`403 AccessDenied`) of a request signed by `s3`."""
    url = str(client.make_url(path))
    request = AWSRequest(method, url, data=body)
    S3SigV4Auth(Credentials(s3.access, s3.secret), "s3", "RegionOne").add_auth(request)
    response = await client.session.request(
        method, url, data=body, headers=dict(request.headers.items())
    )
    text = await response.text()
    return f"{response.status} {text.partition('<Code>')[2].partition('</Code>')[0]}"


async def test_what_is_not_served_is_an_s3_error(client: Client, s3: S3) -> None:
    assert await _signed(client, s3, "PATCH", "/s3/bkt") == "405 MethodNotAllowed"
    assert await _signed(client, s3, "GET", "/s3/bkt?acl") == "501 NotImplemented"
    assert await _signed(client, s3, "PUT", "/s3/bkt/k?tagging") == "501 NotImplemented"
    assert await _signed(client, s3, "POST", "/s3/bkt?delete", b"<Delete><") == "400 MalformedXML"
    assert await _signed(client, s3, "POST", "/s3/bkt/k") == "501 NotImplemented"
    assert await _signed(client, s3, "GET", "/s3/bkt?max-keys=x") == "400 InvalidArgument"
    response = await client.session.get(
        client.make_url("/s3/"), headers={"Authorization": "AWS4-HMAC-SHA256 nonsense"}
    )
    assert response.status == 400
    assert "<Code>AuthorizationHeaderMalformed</Code>" in await response.text()
