"""Authorisation: one policy for every Kumo API, with OpenStack's secure-RBAC defaults.

`reader` may read, `member` may change its project's resources, `admin` may do all.
A rule sees the caller and the target (the attributes of the resource acted on, such
as its `project_id`, `domain_id` or owning `user_id`).
"""

import functools
from collections.abc import Callable, Mapping
from typing import Any

from service.auth import AuthContext
from service.errors import Forbidden

Target = Mapping[str, Any]
Rule = Callable[[AuthContext, Target], bool]


def admin(ctx: AuthContext, target: Target) -> bool:
    return ctx.is_admin


def owner(ctx: AuthContext, target: Target) -> bool:
    """The caller is the user the target belongs to."""
    return target.get("user_id") == ctx.user_id


def trustor(ctx: AuthContext, target: Target) -> bool:
    """The caller is the trust's trustor."""
    return target.get("trustor_user_id") == ctx.user_id


def trust_party(ctx: AuthContext, target: Target) -> bool:
    """The caller is the trust's trustor or trustee (for a listing: the one it names,
    and it names one)."""
    parties = {target.get("trustor_user_id"), target.get("trustee_user_id")} - {None}
    return ctx.user_id in parties


def project_reader(ctx: AuthContext, target: Target) -> bool:
    return (
        ctx.project_id is not None
        and target.get("project_id") == ctx.project_id
        and (ctx.has_role("reader"))
    )


def project_member(ctx: AuthContext, target: Target) -> bool:
    return (
        ctx.project_id is not None
        and target.get("project_id") == ctx.project_id
        and (ctx.has_role("member"))
    )


def domain_reader(ctx: AuthContext, target: Target) -> bool:
    return (
        ctx.scope == "domain"
        and target.get("domain_id") == ctx.domain_id
        and (ctx.has_role("reader"))
    )


def domain_manager(ctx: AuthContext, target: Target) -> bool:
    return (
        ctx.scope == "domain"
        and target.get("domain_id") == ctx.domain_id
        and (ctx.has_role("admin"))
    )


def any_of(*rules: Rule) -> Rule:
    def rule(ctx: AuthContext, target: Target) -> bool:
        return any(r(ctx, target) for r in rules)

    return rule


ADMIN_OR_DOMAIN_READER = any_of(admin, domain_reader)
ADMIN_OR_DOMAIN_MANAGER = any_of(admin, domain_manager)

RULES: dict[str, Rule] = {
    # identity: domains
    "identity:get_domain": any_of(
        admin, domain_reader, lambda c, t: t.get("domain_id") in (c.domain_id, c.project_domain_id)
    ),
    "identity:list_domains": admin,
    "identity:create_domain": admin,
    "identity:update_domain": admin,
    "identity:delete_domain": admin,
    # projects
    "identity:get_project": any_of(admin, domain_reader, project_reader),
    "identity:list_projects": ADMIN_OR_DOMAIN_READER,
    "identity:list_user_projects": any_of(admin, domain_reader, owner),
    "identity:create_project": ADMIN_OR_DOMAIN_MANAGER,
    "identity:update_project": ADMIN_OR_DOMAIN_MANAGER,
    "identity:delete_project": ADMIN_OR_DOMAIN_MANAGER,
    "identity:list_project_tags": any_of(admin, domain_reader, project_reader),
    "identity:update_project_tags": ADMIN_OR_DOMAIN_MANAGER,
    # users
    "identity:get_user": any_of(admin, domain_reader, owner),
    "identity:list_users": ADMIN_OR_DOMAIN_READER,
    "identity:create_user": ADMIN_OR_DOMAIN_MANAGER,
    "identity:update_user": ADMIN_OR_DOMAIN_MANAGER,
    "identity:delete_user": ADMIN_OR_DOMAIN_MANAGER,
    "identity:list_groups_for_user": any_of(admin, domain_reader, owner),
    # groups
    "identity:get_group": ADMIN_OR_DOMAIN_READER,
    "identity:list_groups": ADMIN_OR_DOMAIN_READER,
    "identity:create_group": ADMIN_OR_DOMAIN_MANAGER,
    "identity:update_group": ADMIN_OR_DOMAIN_MANAGER,
    "identity:delete_group": ADMIN_OR_DOMAIN_MANAGER,
    "identity:list_users_in_group": ADMIN_OR_DOMAIN_READER,
    "identity:check_user_in_group": ADMIN_OR_DOMAIN_READER,
    "identity:add_user_to_group": ADMIN_OR_DOMAIN_MANAGER,
    "identity:remove_user_from_group": ADMIN_OR_DOMAIN_MANAGER,
    # roles and assignments
    "identity:get_role": ADMIN_OR_DOMAIN_READER,
    "identity:list_roles": ADMIN_OR_DOMAIN_READER,
    "identity:create_role": admin,
    "identity:update_role": admin,
    "identity:delete_role": admin,
    "identity:list_implied_roles": ADMIN_OR_DOMAIN_READER,
    "identity:create_implied_role": admin,
    "identity:delete_implied_role": admin,
    "identity:list_role_assignments": ADMIN_OR_DOMAIN_READER,
    "identity:list_grants": ADMIN_OR_DOMAIN_READER,
    "identity:check_grant": ADMIN_OR_DOMAIN_READER,
    "identity:create_grant": ADMIN_OR_DOMAIN_MANAGER,
    "identity:revoke_grant": ADMIN_OR_DOMAIN_MANAGER,
    # catalog
    "identity:get_region": lambda c, t: True,
    "identity:list_regions": lambda c, t: True,
    "identity:create_region": admin,
    "identity:update_region": admin,
    "identity:delete_region": admin,
    "identity:get_service": admin,
    "identity:list_services": admin,
    "identity:create_service": admin,
    "identity:update_service": admin,
    "identity:delete_service": admin,
    "identity:get_endpoint": admin,
    "identity:list_endpoints": admin,
    "identity:create_endpoint": admin,
    "identity:update_endpoint": admin,
    "identity:delete_endpoint": admin,
    "identity:manage_endpoint_filter": admin,  # OS-EP-FILTER: groups, what projects see
    # unified limits: anyone reads the defaults, a project's readers its own limits
    "identity:get_registered_limit": lambda c, t: True,
    "identity:list_registered_limits": lambda c, t: True,
    "identity:create_registered_limits": admin,
    "identity:update_registered_limit": admin,
    "identity:delete_registered_limit": admin,
    "identity:get_limit": any_of(admin, domain_reader, project_reader),
    "identity:list_limits": lambda c, t: True,
    "identity:create_limits": admin,
    "identity:update_limit": admin,
    "identity:delete_limit": admin,
    "identity:get_limit_model": lambda c, t: True,
    # application credentials: their owner only (and admin)
    "identity:get_application_credential": any_of(admin, owner),
    "identity:list_application_credentials": any_of(admin, owner),
    "identity:create_application_credential": owner,
    "identity:delete_application_credential": any_of(admin, owner),
    "identity:get_access_rule": any_of(admin, owner),
    "identity:list_access_rules": any_of(admin, owner),
    "identity:delete_access_rule": any_of(admin, owner),
    # trusts: made by their trustor, seen by both parties, deleted by the trustor (admins: all)
    "identity:create_trust": lambda c, t: t.get("trustor_user_id") == c.user_id,
    "identity:list_trusts": any_of(admin, trust_party),
    "identity:get_trust": any_of(admin, trust_party),
    "identity:delete_trust": any_of(admin, trustor),
    "identity:list_roles_for_trust": any_of(admin, trust_party),
    "identity:get_role_for_trust": any_of(admin, trust_party),
    # OAuth1: consumers are registered by admins; a user manages its own access tokens
    "identity:create_consumer": admin,
    "identity:list_consumers": admin,
    "identity:get_consumer": admin,
    "identity:update_consumer": admin,
    "identity:delete_consumer": admin,
    "identity:list_access_tokens": any_of(admin, owner),
    "identity:get_access_token": any_of(admin, owner),
    "identity:delete_access_token": any_of(admin, owner),
    "identity:list_access_token_roles": any_of(admin, owner),
    "identity:get_access_token_role": any_of(admin, owner),
    # policy documents stored for other services: admins only
    "identity:get_policy": admin,
    "identity:list_policies": admin,
    "identity:create_policy": admin,
    "identity:update_policy": admin,
    "identity:delete_policy": admin,
    # credentials (and EC2 key pairs): their owner and admins; a list shows the owner's own
    "identity:get_credential": any_of(admin, owner),
    "identity:list_credentials": lambda c, t: True,
    "identity:create_credential": any_of(admin, owner),
    "identity:update_credential": any_of(admin, owner),
    "identity:delete_credential": any_of(admin, owner),
    "identity:ec2_get_credential": any_of(admin, owner),
    "identity:ec2_list_credentials": any_of(admin, owner),
    "identity:ec2_create_credential": any_of(admin, owner),
    "identity:ec2_delete_credential": any_of(admin, owner),
}


@functools.cache
def every_rule() -> dict[str, Rule]:
    """Identity's rules above and each service's own (`service/*/policy_rules.py`)."""
    # Imported here, not at the top: those modules build their rules from this one's.
    from service.compute.policy_rules import RULES as COMPUTE
    from service.image.policy_rules import RULES as IMAGE
    from service.network.policy_rules import RULES as NETWORK

    return {**RULES, **COMPUTE, **IMAGE, **NETWORK}


def allowed(ctx: AuthContext, action: str, target: Target | None = None) -> bool:
    """Whether `ctx` may perform `action` on `target`; unknown actions are refused."""
    rule = every_rule().get(action)
    return rule is not None and rule(ctx, target or {})


def enforce(ctx: AuthContext, action: str, target: Target | None = None) -> None:
    """Raise Forbidden (403, naming the action as Keystone does) unless allowed."""
    if not allowed(ctx, action, target):
        raise Forbidden(f"You are not authorized to perform the requested action: {action}.")
