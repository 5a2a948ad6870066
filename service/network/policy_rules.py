"""Network rules in service/policy.py's style (Neutron's secure-RBAC defaults), to be
merged into its RULES. Targets carry the resource's `project_id`.

Reads are allowed to any reader: *which* resources a caller sees (its project's own,
shared and external networks, everything for an admin) is the listing's job, and a
resource it may not see is a 404, not a 403.
"""

from aiohttp import web

from service.auth import AuthContext, caller
from service.policy import Rule, Target, admin, any_of, enforce, project_member, project_reader


def reader(ctx: AuthContext, target: Target) -> bool:
    """A project-scoped reader (of any project): the queries narrow what it sees."""
    return ctx.project_id is not None and ctx.has_role("reader")


READ = any_of(admin, reader)
WRITE = any_of(admin, project_member)

RULES: dict[str, Rule] = {
    "get_network": READ,
    "create_network": WRITE,
    "create_network:shared": admin,
    "create_network:router:external": admin,
    "create_network:is_default": admin,
    "update_network": WRITE,
    "update_network:shared": admin,
    "update_network:router:external": admin,
    "delete_network": WRITE,
    "get_subnet": READ,
    "create_subnet": WRITE,
    "update_subnet": WRITE,
    "delete_subnet": WRITE,
    "get_port": READ,
    "create_port": WRITE,
    "create_port:mac_address": WRITE,
    "create_port:binding:host_id": admin,
    "update_port": WRITE,
    "update_port:mac_address": admin,
    "update_port:binding:host_id": admin,
    "delete_port": WRITE,
    "get_security_group": READ,
    "create_security_group": WRITE,
    "update_security_group": WRITE,
    "delete_security_group": WRITE,
    "get_security_group_rule": READ,
    "create_security_group_rule": WRITE,
    "delete_security_group_rule": WRITE,
    "get_floatingip": READ,
    "create_floatingip": WRITE,
    "create_floatingip:floating_ip_address": admin,
    "update_floatingip": WRITE,
    "delete_floatingip": WRITE,
    "get_router": READ,
    "create_router": WRITE,
    "create_router:external_gateway_info:enable_snat": admin,
    "create_router:external_gateway_info:external_fixed_ips": admin,
    "create_router:distributed": admin,
    "create_router:ha": admin,
    "update_router": WRITE,
    "update_router:external_gateway_info:enable_snat": admin,
    "update_router:external_gateway_info:external_fixed_ips": admin,
    "update_router:distributed": admin,
    "update_router:ha": admin,
    "delete_router": WRITE,
    "add_router_interface": WRITE,
    "remove_router_interface": WRITE,
    "get_quota": any_of(admin, project_reader),
    "update_quota": admin,
    "delete_quota": admin,
}
"""Neutron names its rules without a service prefix; Kumo's are prefixed `network:`."""

RULES = {f"network:{name}": rule for name, rule in RULES.items()}


def authorize(request: web.Request, action: str, target: Target | None = None) -> AuthContext:
    """The caller, once `network:<action>` is allowed on `target` (by default the caller's
    own project); Forbidden (403) otherwise."""
    ctx = caller(request)
    enforce(ctx, f"network:{action}", {"project_id": ctx.project_id} | dict(target or {}))
    return ctx
