"""JSON-patch updates of an image (`application/openstack-images-v2.1-json-patch`):
add, replace and remove of core and custom properties, as Glance applies them."""

from typing import Any

import msgspec

from service.errors import BadRequest, Conflict, Forbidden
from service.image.attributes import check_settable, check_value, is_core
from service.image.directory import Image

V21 = "application/openstack-images-v2.1-json-patch"
V20 = "application/openstack-images-v2.0-json-patch"
"""Draft 4 of JSON patch, which Tempest still sends: `{"replace": "/name", "value": x}`."""
MEDIA_TYPES = (V21, V20)
_OPS = ("add", "replace", "remove")
_QUEUED_ONLY = ("container_format", "disk_format")


class Operation(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    op: str
    path: str
    value: Any = msgspec.UNSET


def decode(body: bytes, media_type: str) -> list[Operation]:
    """The operations of a patch body in `media_type`'s form; BadRequest if it is not a
    list of operations."""
    try:
        items = msgspec.json.decode(body, type=list[dict[str, Any]])
        if media_type == V20:
            items = [_from_draft_4(item) for item in items]
        return msgspec.convert(items, list[Operation])
    except (msgspec.ValidationError, msgspec.DecodeError) as error:
        raise BadRequest(f"Invalid JSON-patch body: {error}") from None


def _from_draft_4(item: dict[str, Any]) -> dict[str, Any]:
    """`{"<op>": "<path>", "value": v}` as `{"op": .., "path": .., "value": v}`."""
    ops = [op for op in _OPS if op in item]
    if len(ops) != 1:
        raise BadRequest("Each change must name exactly one of " + ", ".join(_OPS) + ".")
    converted = {"op": ops[0], "path": item[ops[0]]}
    if "value" in item:
        converted["value"] = item["value"]
    return converted


def apply(image: Image, operations: list[Operation]) -> dict[str, Any]:
    """The image's changed attributes after the operations (custom properties under
    `properties`, as a whole new dict), in order; an op that would change nothing is no
    change.

    BadRequest: unknown op, malformed path or bad value. Forbidden: read-only or reserved
    attribute, removing a core property, formats of an image that is no longer queued.
    Conflict: replacing or removing a custom property that does not exist.
    """
    core: dict[str, Any] = {}
    properties = dict(image.properties)
    for operation in operations:
        name = _attribute(operation)
        check_settable(name)
        if is_core(name):
            if operation.op == "remove":
                raise Forbidden(f"Attribute '{name}' is a core property and cannot be removed.")
            if name in _QUEUED_ONLY and image.status != "queued":
                raise Forbidden(f"Attribute {name} can be only replaced for a queued image.")
            core[name] = check_value(name, operation.value)
        elif operation.op == "remove" or (operation.op == "replace" and name not in properties):
            if name not in properties:
                raise Conflict(f"Property {name} does not exist.")
            del properties[name]
        else:
            properties[name] = check_value(name, operation.value)
    changes = {k: v for k, v in core.items() if _current(image, k) != v}
    if properties != image.properties:
        changes["properties"] = properties
    return changes


def _current(image: Image, name: str) -> Any:
    value = getattr(image, name)
    return tuple(value) if name == "tags" else value


def _attribute(operation: Operation) -> str:
    """The one attribute an operation's path names; BadRequest for anything else."""
    if operation.op not in _OPS:
        allowed = ", ".join(_OPS)
        raise BadRequest(f"Invalid operation: `{operation.op}`: it must be one of {allowed}")
    if operation.op != "remove" and operation.value is msgspec.UNSET:
        raise BadRequest(f"Operation `{operation.op}` requires a member named 'value'.")
    parts = operation.path.split("/")
    if len(parts) != 2 or parts[0] or not parts[1]:
        raise BadRequest(f"Invalid JSON pointer for this resource: '{operation.path}'")
    return parts[1].replace("~1", "/").replace("~0", "~")
