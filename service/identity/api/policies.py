"""/v3/policies: policy documents kept for other services to fetch (admins only). As in
Keystone, they are stored and served, not enforced: Kumo's own rules are in
service/policy.py."""

from typing import Annotated

import msgspec
from aiohttp import web
from msgspec import UNSET, Meta, UnsetType

from events.store import NO_STREAM
from service.auth import caller
from service.http.body import json_response, read_json
from service.identity import events as ev
from service.identity import views
from service.identity.api.common import base_url, filters, must_get, new_id, record, store
from service.identity.directory import Policy, select
from service.policy import enforce

routes = web.RouteTableDef()
Type = Annotated[str, Meta(min_length=1, max_length=255)]
Blob = Annotated[str, Meta(max_length=65_535)]


class NewPolicy(msgspec.Struct):
    type: Type
    blob: Blob


class PolicyChanges(msgspec.Struct):
    type: Type | UnsetType = UNSET
    blob: Blob | UnsetType = UNSET


class CreatePolicy(msgspec.Struct):
    policy: NewPolicy


class UpdatePolicy(msgspec.Struct):
    policy: PolicyChanges


def _body(request: web.Request, policy: Policy) -> dict[str, object]:
    return {"policy": views.policy(policy, base_url(request))}


async def _policy(request: web.Request, action: str) -> Policy:
    enforce(caller(request), action)
    return await must_get(request, Policy, request.match_info["policy_id"])


@routes.post("/v3/policies")
async def create(request: web.Request) -> web.Response:
    enforce(caller(request), "identity:create_policy")
    body = (await read_json(request, CreatePolicy)).policy
    policy_id = new_id(request)
    created = ev.PolicyCreated(policy_id=policy_id, type=body.type, blob=body.blob)
    await record(request, f"policy-{policy_id}", [created], NO_STREAM)
    return json_response(_body(request, await must_get(request, Policy, policy_id)), status=201)


@routes.get("/v3/policies")
async def list_policies(request: web.Request) -> web.Response:
    enforce(caller(request), "identity:list_policies")
    where, args = filters(request, "type")
    items = [
        views.policy(p, base_url(request))
        for p in await select(store(request).pool, Policy, where, *args)
    ]
    return json_response(views.collection(base_url(request), "policies", "policies", items))


@routes.get("/v3/policies/{policy_id}")
async def show(request: web.Request) -> web.Response:
    return json_response(_body(request, await _policy(request, "identity:get_policy")))


@routes.patch("/v3/policies/{policy_id}")
async def update(request: web.Request) -> web.Response:
    policy = await _policy(request, "identity:update_policy")
    changes = (await read_json(request, UpdatePolicy)).policy
    updated = ev.PolicyUpdated(policy_id=policy.id, type=changes.type, blob=changes.blob)
    await record(request, f"policy-{policy.id}", [updated])
    return json_response(_body(request, await must_get(request, Policy, policy.id)))


@routes.delete("/v3/policies/{policy_id}")
async def delete(request: web.Request) -> web.Response:
    policy = await _policy(request, "identity:delete_policy")
    await record(request, f"policy-{policy.id}", [ev.PolicyDeleted(policy_id=policy.id)])
    return web.Response(status=204)
