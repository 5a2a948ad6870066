"""/v3/users/{user_id}/access_rules: the requests a user's application credentials have
been limited to (service/identity/access_rules.py); a rule goes once no credential uses
it. The user's own, and admins'."""

from aiohttp import web

from service.auth import caller
from service.errors import Forbidden, NotFound
from service.http.body import json_response
from service.identity import events as ev
from service.identity import views
from service.identity.api.common import base_url, must_get, record, store
from service.identity.directory import User, UserAccessRule, get, select
from service.policy import enforce

routes = web.RouteTableDef()
RULES = "/v3/users/{user_id}/access_rules"
_IN_USE = """
    SELECT true FROM rm_application_credentials
     WHERE user_id = $1 AND access_rules @> jsonb_build_array(jsonb_build_object('id', $2::text))
"""


async def _rule(request: web.Request, action: str) -> UserAccessRule:
    user_id, rule_id = request.match_info["user_id"], request.match_info["rule_id"]
    enforce(caller(request), action, {"user_id": user_id})
    rule = await get(store(request).pool, UserAccessRule, rule_id)
    if rule is None or rule.user_id != user_id:
        raise NotFound(f"Could not find access rule: {rule_id}.")
    return rule


@routes.get(RULES)
async def list_rules(request: web.Request) -> web.Response:
    user_id = request.match_info["user_id"]
    enforce(caller(request), "identity:list_access_rules", {"user_id": user_id})
    await must_get(request, User, user_id)
    found = await select(store(request).pool, UserAccessRule, "user_id = $1", user_id)
    items = [views.access_rule(r, base_url(request)) for r in found]
    path = f"users/{user_id}/access_rules"
    return json_response(views.collection(base_url(request), path, "access_rules", items))


@routes.get(RULES + "/{rule_id}")
async def show_rule(request: web.Request) -> web.Response:
    rule = await _rule(request, "identity:get_access_rule")
    return json_response({"access_rule": views.access_rule(rule, base_url(request))})


@routes.delete(RULES + "/{rule_id}")
async def delete_rule(request: web.Request) -> web.Response:
    """204; 403 while one of the user's application credentials uses the rule."""
    rule = await _rule(request, "identity:delete_access_rule")
    used = await store(request).pool.fetchval(_IN_USE, rule.user_id, rule.id)
    if used:
        raise Forbidden(f"Access rule {rule.id} is in use by an application credential.")
    deleted = ev.AccessRuleDeleted(user_id=rule.user_id, access_rule_id=rule.id)
    await record(request, f"user-{rule.user_id}", [deleted])
    return web.Response(status=204)
