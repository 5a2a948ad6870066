"""Who signed an S3 request: its EC2 credential, found by access key, whose secret must
give the request's SigV4 signature; the request then acts as the credential's user in
its project, with the user's roles there, as a token scoped to that project would."""

from aiohttp import web
from aiohttp.typedefs import Handler

from service.auth import AUTH, AuthContext
from service.identity.access_rules import permits
from service.identity.credentials import EC2, ec2_blob, ec2_id, unseal
from service.identity.directory import Credential, get
from service.identity.runtime import IDENTITY_RUNTIME
from service.identity.token_format import TokenPayload
from service.objects.api.common import now
from service.objects.s3 import sigv4
from service.objects.s3.errors import AccessDenied, InvalidAccessKeyId

PAYLOAD_HASH = web.RequestKey("s3_payload_hash", str)
"""The hex SHA-256 the request's signature covers its body with, UNSIGNED-PAYLOAD, or
one of sigv4.CHUNKED for an aws-chunked body."""
CHUNK_CHAIN = web.RequestKey("s3_chunk_chain", sigv4.ChunkChain)
"""Checks the chunks of a signed aws-chunked body (sigv4.SIGNED_CHUNKS)."""
_UNSUPPORTED = ("trust_id", "access_token_id", "access_id")
"""What an EC2 blob may be limited to that Kumo's S3 API does not act under."""


def _signed(request: web.Request) -> sigv4.Signed:
    authorization = request.headers.get("Authorization")
    if authorization is not None:
        return sigv4.from_header(authorization, request.headers)
    if "X-Amz-Credential" in request.query:
        return sigv4.from_query(request.query, request.headers)
    raise AccessDenied("Anonymous access is not supported: sign the request with an EC2 key.")


async def _caller(request: web.Request, signed: sigv4.Signed) -> tuple[AuthContext, str]:
    """The caller the credential stands for and its project, once the credential's
    secret verifies the signature."""
    identity = request.config_dict[IDENTITY_RUNTIME]
    credential = await get(identity.store.pool, Credential, ec2_id(signed.access_key))
    if credential is None or credential.type != EC2 or credential.project_id is None:
        raise InvalidAccessKeyId()
    blob = ec2_blob(unseal(identity.credential_keys, credential))
    if blob["access"] != signed.access_key or not isinstance(blob.get("secret"), str):
        raise InvalidAccessKeyId()
    canonical = sigv4.canonical_request(
        signed, request.method, request.path, request.query, request.headers
    )
    sigv4.check_signature(blob["secret"], signed, canonical)
    if signed.payload_hash == sigv4.SIGNED_CHUNKS:
        request[CHUNK_CHAIN] = sigv4.ChunkChain(blob["secret"], signed)
    if any(blob.get(key) for key in _UNSUPPORTED):
        raise AccessDenied("Credentials limited to a trust or an OAuth token are not supported.")
    at = now(request)
    payload = TokenPayload(
        user_id=credential.user_id,
        methods=("ec2credential",),
        scope_kind="project",
        scope_id=credential.project_id,
        issued_at=at,
        expires_at=at,
        audit_ids=(),
        application_credential_id=blob.get("app_cred_id"),
    )
    return await identity.context_for(payload), credential.project_id


@web.middleware
async def s3_authentication(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Authenticate every S3 request by its signature (403 when it does not verify, its
    credential is unknown or its time is off; 400 when it is malformed), then let the
    object API's helpers see the credential's project as the path's account."""
    signed = _signed(request)
    sigv4.check_time(signed, now(request))
    context, project_id = await _caller(request, signed)
    rules = context.access_rules
    if rules is not None and not permits(rules, request.method, request.path):
        raise AccessDenied("The application credential's access rules do not allow this.")
    request[AUTH] = context
    request[PAYLOAD_HASH] = signed.payload_hash
    # The object API's helpers read the account from the path (service/objects/api/
    # common.py project_of); an S3 path names no account: it is the credential's project.
    request.match_info["project_id"] = project_id
    return await handler(request)
