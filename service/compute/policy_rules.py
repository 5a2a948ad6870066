"""Compute rules in service/policy.py's style, Nova's secure-RBAC
defaults, to be merged into its RULES.

Targets: a resource's `project_id` (a quota set's project, a server group's owner; the
caller's own project for what has no owner, such as a new security group), a keypair's
`user_id`.
"""

from aiohttp import web

from service.auth import AuthContext, caller
from service.policy import (
    Rule,
    Target,
    admin,
    any_of,
    enforce,
    owner,
    project_member,
    project_reader,
)


def anyone(ctx: AuthContext, target: Target) -> bool:
    """Any authenticated caller (Nova's "@")."""
    return True


def service(ctx: AuthContext, target: Target) -> bool:
    """A service's user (the `service` role), as Nova's services call each other."""
    return ctx.has_role("service")


ADMIN_OR_READER = any_of(admin, project_reader)
ADMIN_OR_MEMBER = any_of(admin, project_member)
ADMIN_OR_OWNER = any_of(admin, owner)

RULES: dict[str, Rule] = {
    # flavors: anyone reads (the query narrows to what a project may see; Nova has no
    # rule for it), admins manage
    "os_compute_api:flavors": anyone,
    "os_compute_api:os-flavor-manage:create": admin,
    "os_compute_api:os-flavor-manage:delete": admin,
    "os_compute_api:os-flavor-manage:update": admin,
    "os_compute_api:os-flavor-access": admin,
    "os_compute_api:os-flavor-access:add_tenant_access": admin,
    "os_compute_api:os-flavor-access:remove_tenant_access": admin,
    "os_compute_api:os-flavor-extra-specs:index": ADMIN_OR_READER,
    "os_compute_api:os-flavor-extra-specs:show": ADMIN_OR_READER,
    "os_compute_api:os-flavor-extra-specs:create": admin,
    "os_compute_api:os-flavor-extra-specs:update": admin,
    "os_compute_api:os-flavor-extra-specs:delete": admin,
    # keypairs: their user's
    "os_compute_api:os-keypairs:index": ADMIN_OR_OWNER,
    "os_compute_api:os-keypairs:create": ADMIN_OR_OWNER,
    "os_compute_api:os-keypairs:show": ADMIN_OR_OWNER,
    "os_compute_api:os-keypairs:delete": ADMIN_OR_OWNER,
    # quotas and limits
    "os_compute_api:os-quota-sets:show": ADMIN_OR_READER,
    "os_compute_api:os-quota-sets:detail": ADMIN_OR_READER,
    "os_compute_api:os-quota-sets:defaults": anyone,
    "os_compute_api:os-quota-sets:update": admin,
    "os_compute_api:os-quota-sets:delete": admin,
    "os_compute_api:os-quota-class-sets:show": admin,
    "os_compute_api:os-quota-class-sets:update": admin,
    "os_compute_api:limits": anyone,
    "os_compute_api:limits:other_project": admin,
    # servers: what only admins may do to them or ask of them
    "os_compute_api:os-admin-actions:reset_state": admin,
    "os_compute_api:os-admin-actions:inject_network_info": admin,
    "os_compute_api:os-server-external-events:create": any_of(admin, service),
    "os_compute_api:os-server-diagnostics": admin,
    "os_compute_api:os-server-password:show": ADMIN_OR_READER,
    "os_compute_api:os-server-password:clear": ADMIN_OR_MEMBER,
    # the network proxies: what the project's readers see of the network service
    "os_compute_api:os-networks:list": ADMIN_OR_READER,
    "os_compute_api:os-networks:view": ADMIN_OR_READER,
    "os_compute_api:os-tenant-networks:list": ADMIN_OR_READER,
    "os_compute_api:os-tenant-networks:show": ADMIN_OR_READER,
    # usage
    "os_compute_api:os-simple-tenant-usage:list": admin,
    "os_compute_api:os-simple-tenant-usage:show": ADMIN_OR_READER,
    "os_compute_api:os-instance-usage-audit-log:list": admin,
    "os_compute_api:os-instance-usage-audit-log:show": admin,
    # the cloud's shape
    "os_compute_api:extensions": anyone,
    "os_compute_api:os-availability-zone:list": anyone,
    "os_compute_api:os-availability-zone:detail": admin,
    "os_compute_api:os-hypervisors:list": admin,
    "os_compute_api:os-migrations:index": admin,
    "os_compute_api:servers:migrations:index": admin,
    "os_compute_api:os-hypervisors:list-detail": admin,
    "os_compute_api:os-hypervisors:show": admin,
    "os_compute_api:os-hypervisors:statistics": admin,
    "os_compute_api:os-hypervisors:search": admin,
    "os_compute_api:os-hypervisors:servers": admin,
    "os_compute_api:os-hypervisors:uptime": admin,
    "os_compute_api:os-hosts:list": admin,
    "os_compute_api:os-hosts:show": admin,
    "os_compute_api:os-hosts:update": admin,
    "os_compute_api:os-hosts:start": admin,
    "os_compute_api:os-hosts:shutdown": admin,
    "os_compute_api:os-hosts:reboot": admin,
    "os_compute_api:os-aggregates:index": admin,
    "os_compute_api:os-aggregates:create": admin,
    "os_compute_api:os-aggregates:show": admin,
    "os_compute_api:os-aggregates:update": admin,
    "os_compute_api:os-aggregates:delete": admin,
    "os_compute_api:os-aggregates:add_host": admin,
    "os_compute_api:os-aggregates:remove_host": admin,
    "os_compute_api:os-aggregates:set_metadata": admin,
    "os_compute_api:os-services:list": admin,
    "os_compute_api:os-services:update": admin,
    "compute:servers:create:requested_destination": admin,
    # security groups (Nova's proxy) and server groups: the project's
    "os_compute_api:os-security-groups:get": ADMIN_OR_READER,
    "os_compute_api:os-security-groups:show": ADMIN_OR_READER,
    "os_compute_api:os-security-groups:create": ADMIN_OR_MEMBER,
    "os_compute_api:os-security-groups:update": ADMIN_OR_MEMBER,
    "os_compute_api:os-security-groups:delete": ADMIN_OR_MEMBER,
    "os_compute_api:os-security-groups:rule:create": ADMIN_OR_MEMBER,
    "os_compute_api:os-security-groups:rule:delete": ADMIN_OR_MEMBER,
    "os_compute_api:os-server-groups:index": ADMIN_OR_READER,
    "os_compute_api:os-server-groups:index:all_projects": admin,
    "os_compute_api:os-server-groups:show": ADMIN_OR_READER,
    "os_compute_api:os-server-groups:create": project_member,
    "os_compute_api:os-server-groups:delete": ADMIN_OR_MEMBER,
}


def authorize(request: web.Request, action: str, target: Target | None = None) -> AuthContext:
    """The caller, once `action` is allowed on `target` (by default the caller's own
    project and user); Forbidden (403) otherwise."""
    ctx = caller(request)
    enforce(
        ctx, action, {"project_id": ctx.project_id, "user_id": ctx.user_id} | dict(target or {})
    )
    return ctx
