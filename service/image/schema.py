"""What an image is made of, as Glance describes it: formats, core, read-only and reserved
properties, and the JSON schemas served at /v2/schemas (glanceclient builds its models
and validates patches from them), the metadefs' among them."""

from typing import Any

from service.image.metadefs.schema import SCHEMAS as METADEF_SCHEMAS

DISK_FORMATS = (
    "ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop",
)  # fmt: skip
CONTAINER_FORMATS = ("ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed")
VISIBILITIES = ("public", "private", "shared", "community")
STATUSES = (
    "queued", "saving", "active", "killed", "deleted", "uploading", "importing",
    "pending_delete", "deactivated",
)  # fmt: skip

READ_ONLY = frozenset({
    "id", "status", "created_at", "updated_at", "checksum", "os_hash_algo", "os_hash_value",
    "size", "virtual_size", "direct_url", "self", "file", "schema", "stores", "locations",
})  # fmt: skip
"""Set by Glance only: naming one in a create or patch is a 403 (except `id` at create)."""
RESERVED = frozenset({"location", "deleted", "deleted_at"})
"""Never properties of an image: naming one is a 403."""
RESERVED_PREFIX = "os_glance"
CORE = frozenset({
    "name", "visibility", "protected", "os_hidden", "owner", "container_format",
    "disk_format", "min_disk", "min_ram", "tags",
})  # fmt: skip
"""The core properties a caller may set; every other name is a custom (string) property."""
MAX_TAG = 255


def _nullable(kind: str, description: str, **more: Any) -> dict[str, Any]:
    return {"type": ["null", kind], "description": description, **more}


def _read_only(kind: Any, description: str, **more: Any) -> dict[str, Any]:
    return {"type": kind, "readOnly": True, "description": description, **more}


_UUID = "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$"

IMAGE_PROPERTIES: dict[str, Any] = {
    "id": {"type": "string", "description": "An identifier for the image", "pattern": _UUID},
    "name": _nullable("string", "Descriptive name for the image", maxLength=255),
    "status": _read_only("string", "Status of the image", enum=list(STATUSES)),
    "visibility": {
        "type": "string", "description": "Scope of image accessibility",
        "enum": list(VISIBILITIES),
    },
    "protected": {"type": "boolean", "description": "If true, image will not be deletable."},
    "os_hidden": {
        "type": "boolean",
        "description": "If true, image will not appear in default image list response.",
    },
    "checksum": _read_only(["null", "string"], "md5 hash of image contents.", maxLength=32),
    "os_hash_algo": _read_only(
        ["null", "string"], "Algorithm to calculate the os_hash_value", maxLength=64
    ),
    "os_hash_value": _read_only(
        ["null", "string"],
        "Hexdigest of the image contents using the algorithm specified by the os_hash_algo",
        maxLength=128,
    ),
    "owner": _nullable("string", "Owner of the image", maxLength=255),
    "size": _read_only(["null", "integer"], "Size of image file in bytes"),
    "virtual_size": _read_only(["null", "integer"], "Virtual size of image in bytes"),
    "container_format": _nullable(
        "string", "Format of the container", enum=[None, *CONTAINER_FORMATS]
    ),
    "disk_format": _nullable("string", "Format of the disk", enum=[None, *DISK_FORMATS]),
    "created_at": _read_only("string", "Date and time of image registration"),
    "updated_at": _read_only("string", "Date and time of the last image modification"),
    "tags": {
        "type": "array", "description": "List of strings related to the image",
        "items": {"type": "string", "maxLength": MAX_TAG},
    },
    "direct_url": _read_only(
        "string", "URL to access the image file kept in external store"
    ),
    "min_ram": {"type": "integer", "description": "Amount of ram (in MB) required to boot image."},
    "min_disk": {
        "type": "integer", "description": "Amount of disk space (in GB) required to boot image."
    },
    "self": _read_only("string", "An image self url"),
    "file": _read_only("string", "An image file url"),
    "schema": _read_only("string", "An image schema url"),
}  # fmt: skip

IMAGE_LINKS = [
    {"rel": "self", "href": "{self}"},
    {"rel": "enclosure", "href": "{file}"},
    {"rel": "describedby", "href": "{schema}"},
]


def image_schema() -> dict[str, Any]:
    """`GET /v2/schemas/image`: custom properties are strings."""
    return {
        "name": "image",
        "properties": IMAGE_PROPERTIES,
        "additionalProperties": {"type": "string"},
        "links": IMAGE_LINKS,
    }


PAGE_LINKS = [
    {"rel": "first", "href": "{first}"},
    {"rel": "next", "href": "{next}"},
    {"rel": "describedby", "href": "{schema}"},
]
"""The links of a page's schema (images, tasks)."""


def images_schema() -> dict[str, Any]:
    """`GET /v2/schemas/images`: a page of images and its links."""
    return {
        "name": "images",
        "properties": {
            "images": {"type": "array", "items": image_schema()},
            "schema": {"type": "string"},
            "first": {"type": "string"},
            "next": {"type": "string"},
        },
        "links": PAGE_LINKS,
    }


MEMBER_PROPERTIES: dict[str, Any] = {
    "member_id": {"type": "string", "description": "An identifier for the image member (tenantId)"},
    "image_id": {"type": "string", "description": "An identifier for the image", "pattern": _UUID},
    "created_at": {"type": "string", "description": "Date and time of image member creation"},
    "updated_at": {
        "type": "string", "description": "Date and time of last modification of image member",
    },
    "status": {
        "type": "string", "description": "The status of this image member",
        "enum": ["pending", "accepted", "rejected"],
    },
    "schema": {"readOnly": True, "type": "string"},
}  # fmt: skip


def member_schema() -> dict[str, Any]:
    """`GET /v2/schemas/member`."""
    return {"name": "member", "properties": MEMBER_PROPERTIES}


def members_schema() -> dict[str, Any]:
    """`GET /v2/schemas/members`."""
    return {
        "name": "members",
        "properties": {
            "members": {"type": "array", "items": member_schema()},
            "schema": {"type": "string"},
        },
        "links": [{"rel": "describedby", "href": "{schema}"}],
    }


TASK_PROPERTIES: dict[str, Any] = {
    "id": {"type": "string", "description": "An identifier for the task", "pattern": _UUID},
    "type": {
        "type": "string",
        "description": "The type of task represented by this content",
        "enum": ["import", "api_image_import"],
    },
    "status": {
        "type": "string",
        "description": "The current status of this task",
        "enum": ["pending", "processing", "success", "failure"],
    },
    "input": {"type": ["null", "object"], "description": "The parameters required by task"},
    "result": {"type": ["null", "object"], "description": "The result of current task"},
    "owner": {"type": ["null", "string"], "description": "The owner of this task"},
    "message": {"type": "string", "description": "Human-readable informative message"},
    "image_id": {"type": "string", "description": "Image associated with the task"},
    "request_id": {"type": ["null", "string"], "description": "Request ID of the task"},
    "user_id": {"type": ["null", "string"], "description": "User associated with the task"},
    "expires_at": {"type": ["null", "string"], "description": "When the task may be removed"},
    "created_at": {"type": "string", "description": "Datetime when this resource was created"},
    "updated_at": {"type": "string", "description": "Datetime when this resource was updated"},
    "self": {"type": "string"},
    "schema": {"type": "string"},
}


def task_schema() -> dict[str, Any]:
    """`GET /v2/schemas/task`."""
    return {
        "name": "task",
        "properties": TASK_PROPERTIES,
        "links": [
            {"rel": "self", "href": "{self}"},
            {"rel": "describedby", "href": "{schema}"},
        ],
    }


def tasks_schema() -> dict[str, Any]:
    """`GET /v2/schemas/tasks`: a page of tasks, listed without input and result."""
    listed = {k: v for k, v in TASK_PROPERTIES.items() if k not in ("input", "result")}
    return {
        "name": "tasks",
        "properties": {
            "tasks": {"type": "array", "items": {"name": "task", "properties": listed}},
            "schema": {"type": "string"},
            "first": {"type": "string"},
            "next": {"type": "string"},
        },
        "links": PAGE_LINKS,
    }


SCHEMAS = {
    "image": image_schema,
    "images": images_schema,
    "member": member_schema,
    "members": members_schema,
    "task": task_schema,
    "tasks": tasks_schema,
    **{f"metadefs/{name}": schema for name, schema in METADEF_SCHEMAS.items()},
}
"""By the path after /v2/schemas/."""
