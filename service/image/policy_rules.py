"""Image rules in service/policy.py's style (Glance's secure-RBAC defaults), to be merged
into its RULES. Targets carry the image's owner as `project_id`.

Metadata definitions (metadefs) follow Glance's defaults too: a reader reads the public
namespaces and its project's own, only an admin writes.

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


def namespace_reader(ctx: AuthContext, target: Target) -> bool:
    """A project-scoped reader, of the namespace's project (if it has one) or of any
    project when the namespace is public."""
    return (
        ctx.project_id is not None
        and ctx.has_role("reader")
        and (
            target.get("visibility") == "public"
            or target.get("project_id") in (None, ctx.project_id)
        )
    )


ADMIN_OR_OWNER = any_of(admin, project_member)
METADEF_READS = (
    "get_metadef_namespace",
    "get_metadef_object",
    "get_metadef_objects",
    "get_metadef_property",
    "get_metadef_properties",
    "get_metadef_tag",
    "get_metadef_tags",
    "get_metadef_resource_type",
)
METADEF_WRITES = (
    "add_metadef_namespace",
    "modify_metadef_namespace",
    "delete_metadef_namespace",
    "add_metadef_object",
    "modify_metadef_object",
    "delete_metadef_object",
    "add_metadef_property",
    "modify_metadef_property",
    "remove_metadef_property",
    "add_metadef_tag",
    "add_metadef_tags",
    "modify_metadef_tag",
    "delete_metadef_tag",
    "delete_metadef_tags",
    "add_metadef_resource_type_association",
    "remove_metadef_resource_type_association",
)

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
    # Glance's defaults for these two are admin only; an image's owner may move its bytes
    # between stores here (and pays for each copy on its quota).
    "image:copy_image": ADMIN_OR_OWNER,
    "image:delete_image_location": ADMIN_OR_OWNER,
    "image:stores_info_detail": admin,
    "image:tasks_api_access": admin,
    "image:get_metadef_namespaces": any_of(admin, reader),
    "image:list_metadef_resource_types": any_of(admin, reader),
    **{f"image:{action}": any_of(admin, namespace_reader) for action in METADEF_READS},
    **{f"image:{action}": admin for action in METADEF_WRITES},
}
