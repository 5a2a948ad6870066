"""/v3/users/{user_id}/credentials/OS-EC2: EC2-style key pairs (an access key and a
secret) for a user on a project, kept as credentials of type `ec2`."""

import json
import secrets

import msgspec
from aiohttp import web

from service.auth import caller
from service.errors import NotFound
from service.http.body import json_response, read_json
from service.identity import credentials as blobs
from service.identity import events as ev
from service.identity import views
from service.identity.api.common import base_url, identity, must_get, record, store
from service.identity.api.credentials import NewCredential, create_credential
from service.identity.directory import Credential, User, get, select
from service.policy import enforce

routes = web.RouteTableDef()
PATH = "/v3/users/{user_id}/credentials/OS-EC2"


class NewEc2Credential(msgspec.Struct):
    tenant_id: str


def _view(request: web.Request, credential: Credential) -> dict[str, object]:
    blob = blobs.ec2_blob(blobs.unseal(identity(request).credential_keys, credential))
    return blobs.ec2_view(credential, blob, base_url(request))


@routes.post(PATH)
async def create(request: web.Request) -> web.Response:
    user_id = request.match_info["user_id"]
    enforce(caller(request), "identity:ec2_create_credential", {"user_id": user_id})
    body = await read_json(request, NewEc2Credential)
    access, secret = secrets.token_hex(16), secrets.token_hex(16)
    blob = json.dumps({"access": access, "secret": secret, "trust_id": None})
    new = NewCredential(blob=blob, type=blobs.EC2, user_id=user_id, project_id=body.tenant_id)
    credential = await create_credential(request, blobs.ec2_id(access), new)
    return json_response({"credential": _view(request, credential)}, status=201)


@routes.get(PATH)
async def list_credentials(request: web.Request) -> web.Response:
    user_id = request.match_info["user_id"]
    enforce(caller(request), "identity:ec2_list_credentials", {"user_id": user_id})
    await must_get(request, User, user_id)
    found = await select(
        store(request).pool, Credential, "user_id = $1 AND type = $2", user_id, blobs.EC2
    )
    items = [_view(request, c) for c in found]
    path = f"users/{user_id}/credentials/OS-EC2"
    return json_response(views.collection(base_url(request), path, "credentials", items))


async def _credential(request: web.Request, action: str) -> Credential:
    """The user's EC2 credential with the access key in the path, once `action` is
    allowed; 404 if the user has none with that key."""
    user_id, access = request.match_info["user_id"], request.match_info["access"]
    enforce(caller(request), action, {"user_id": user_id})
    credential = await get(store(request).pool, Credential, blobs.ec2_id(access))
    if credential is None or credential.user_id != user_id or credential.type != blobs.EC2:
        raise NotFound(f"Could not find credential: {access}.")
    return credential


@routes.get(PATH + "/{access}")
async def show(request: web.Request) -> web.Response:
    credential = await _credential(request, "identity:ec2_get_credential")
    return json_response({"credential": _view(request, credential)})


@routes.delete(PATH + "/{access}")
async def delete(request: web.Request) -> web.Response:
    credential = await _credential(request, "identity:ec2_delete_credential")
    deleted = ev.CredentialDeleted(credential_id=credential.id)
    await record(request, f"credential-{credential.id}", [deleted])
    return web.Response(status=204)
