"""Image rules in service/policy.py's style (Glance's secure-RBAC defaults), to be merged
into its RULES. Targets carry the image's owner as `project_id`.

Reads are allowed to any reader here; *which* images a caller sees (its project's own,
public, community, shared with its project) is the catalog query's job
(service/image/directory.py), and an image it may not see is a 404, not a 403.
"""

from service.auth import AuthContext
from service.policy import Rule, Target, admin, any_of, project_member


def reader(ctx: AuthContext, target: Target) -> bool:
    """A project-scoped reader (of any project): the image query narrows what it sees."""
    return ctx.project_id is not None and ctx.has_role("reader")


def member_of_image(ctx: AuthContext, target: Target) -> bool:
    """The caller's project is the member the target names (to accept or reject a share)."""
    return (
        ctx.project_id is not None
        and target.get("member_id") == ctx.project_id
        and ctx.has_role("member")
    )


ADMIN_OR_OWNER = any_of(admin, project_member)

RULES: dict[str, Rule] = {
    "image:get_image": any_of(admin, reader),
    "image:get_images": any_of(admin, reader),
    "image:download_image": any_of(admin, reader),
    "image:add_image": ADMIN_OR_OWNER,
    "image:modify_image": ADMIN_OR_OWNER,
    "image:delete_image": ADMIN_OR_OWNER,
    "image:upload_image": ADMIN_OR_OWNER,
    "image:publicize_image": admin,
    "image:communitize_image": ADMIN_OR_OWNER,
    "image:set_image_owner": admin,
    "image:deactivate": ADMIN_OR_OWNER,
    "image:reactivate": ADMIN_OR_OWNER,
    "image:add_member": ADMIN_OR_OWNER,
    "image:delete_member": ADMIN_OR_OWNER,
    "image:modify_member": any_of(admin, member_of_image),
}
