"""/v3/credentials: secrets users keep in the identity service (EC2 key pairs,
certificates, TOTP seeds), each visible to its owner and admins, its blob encrypted at
rest with the credential keys (service/identity/credentials.py)."""

from typing import Annotated, Any

import msgspec
from aiohttp import web
from msgspec import UNSET, Meta, UnsetType

from events.store import NO_STREAM
from service.auth import caller
from service.errors import BadRequest, Conflict
from service.http.body import json_response, read_json
from service.identity import credentials as blobs
from service.identity import events as ev
from service.identity import views
from service.identity.api.common import (
    authorized,
    base_url,
    identity,
    must_get,
    new_id,
    record,
    seal,
    store,
)
from service.identity.directory import Credential, Project, User, get, select
from service.policy import enforce

routes = web.RouteTableDef()
Type = Annotated[str, Meta(min_length=1, max_length=255)]
Blob = Annotated[str, Meta(min_length=1, max_length=65_535)]


class NewCredential(msgspec.Struct):
    blob: Blob
    type: Type
    user_id: str
    project_id: str | None = None


class CredentialChanges(msgspec.Struct):
    blob: Blob | UnsetType = UNSET
    type: Type | UnsetType = UNSET
    user_id: str | UnsetType = UNSET
    project_id: str | None | UnsetType = UNSET


class CreateCredential(msgspec.Struct):
    credential: NewCredential


class UpdateCredential(msgspec.Struct):
    credential: CredentialChanges


def _view(request: web.Request, credential: Credential) -> dict[str, Any]:
    blob = blobs.unseal(identity(request).credential_keys, credential)
    return blobs.view(credential, blob, base_url(request))


def _check_ec2(blob: str, project_id: str | None) -> None:
    """An EC2 credential's rules: its blob has an access key, it names a project."""
    blobs.ec2_blob(blob)
    if project_id is None:
        raise BadRequest("An ec2 credential needs a project_id.")


async def create_credential(
    request: web.Request, credential_id: str, body: NewCredential
) -> Credential:
    """Store a credential for `body.user_id` (404 if the user or project is unknown, 409
    if the id is taken), once the caller may."""
    enforce(caller(request), "identity:create_credential", {"user_id": body.user_id})
    await must_get(request, User, body.user_id)
    if body.project_id is not None:
        await must_get(request, Project, body.project_id)
    if body.type == blobs.EC2:
        _check_ec2(body.blob, body.project_id)
    if await get(store(request).pool, Credential, credential_id) is not None:
        raise Conflict(f"Conflict occurred attempting to store credential - {credential_id}.")
    created = ev.CredentialCreated(
        credential_id=credential_id,
        user_id=body.user_id,
        type=body.type,
        encrypted_blob=seal(request, body.blob),
        project_id=body.project_id,
    )
    await record(request, f"credential-{credential_id}", [created], NO_STREAM)
    return await must_get(request, Credential, credential_id)


@routes.post("/v3/credentials")
async def create(request: web.Request) -> web.Response:
    body = (await read_json(request, CreateCredential)).credential
    credential_id = new_id(request)
    if body.type == blobs.EC2:
        credential_id = blobs.ec2_id(blobs.ec2_blob(body.blob)["access"])
    credential = await create_credential(request, credential_id, body)
    return json_response({"credential": _view(request, credential)}, status=201)


@routes.get("/v3/credentials")
async def list_credentials(request: web.Request) -> web.Response:
    ctx = caller(request)
    enforce(ctx, "identity:list_credentials")
    clauses, args = [], []
    for name in ("user_id", "type"):
        if name in request.query:
            args.append(request.query[name])
            clauses.append(f"{name} = ${len(args)}")
    if not ctx.is_admin:  # the others see their own only
        args.append(ctx.user_id)
        clauses.append(f"user_id = ${len(args)}")
    found = await select(store(request).pool, Credential, " AND ".join(clauses) or "true", *args)
    items = [_view(request, c) for c in found]
    return json_response(views.collection(base_url(request), "credentials", "credentials", items))


async def _credential(request: web.Request, action: str) -> Credential:
    return await authorized(
        request,
        Credential,
        request.match_info["credential_id"],
        action,
        lambda found: {"user_id": None if found is None else found.user_id},
    )


@routes.get("/v3/credentials/{credential_id}")
async def show(request: web.Request) -> web.Response:
    credential = await _credential(request, "identity:get_credential")
    return json_response({"credential": _view(request, credential)})


@routes.patch("/v3/credentials/{credential_id}")
async def update(request: web.Request) -> web.Response:
    credential = await _credential(request, "identity:update_credential")
    changes = (await read_json(request, UpdateCredential)).credential
    if isinstance(changes.user_id, str):
        enforce(caller(request), "identity:update_credential", {"user_id": changes.user_id})
        await must_get(request, User, changes.user_id)
    if isinstance(changes.project_id, str):
        await must_get(request, Project, changes.project_id)
    after_type = changes.type if isinstance(changes.type, str) else credential.type
    if after_type == blobs.EC2:
        before = blobs.unseal(identity(request).credential_keys, credential)
        blob = changes.blob if isinstance(changes.blob, str) else before
        project = credential.project_id if changes.project_id is UNSET else changes.project_id
        _check_ec2(blob, project)
        if credential.type == blobs.EC2:
            blobs.check_ec2_scope_kept(blobs.ec2_blob(before), blobs.ec2_blob(blob))
    updated = ev.CredentialUpdated(
        credential_id=credential.id,
        user_id=changes.user_id,
        type=changes.type,
        encrypted_blob=seal(request, changes.blob) if isinstance(changes.blob, str) else UNSET,
        project_id=changes.project_id,
    )
    await record(request, f"credential-{credential.id}", [updated])
    credential = await must_get(request, Credential, credential.id)
    return json_response({"credential": _view(request, credential)})


@routes.delete("/v3/credentials/{credential_id}")
async def delete(request: web.Request) -> web.Response:
    credential = await _credential(request, "identity:delete_credential")
    deleted = ev.CredentialDeleted(credential_id=credential.id)
    await record(request, f"credential-{credential.id}", [deleted])
    return web.Response(status=204)
