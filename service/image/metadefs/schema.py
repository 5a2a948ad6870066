"""The JSON schemas of the metadefs API, served at /v2/schemas/metadefs/{name}: what
clients (glanceclient, Horizon) build their models and forms from. The request bodies
are checked by service/image/metadefs/bodies.py to the same rules."""

from collections.abc import Callable
from typing import Any

Json = dict[str, Any]
KINDS = ["array", "boolean", "integer", "number", "object", "string", None]


def _text(max_length: int | None = None, description: str | None = None) -> Json:
    schema: Json = {"type": "string"}
    if max_length is not None:
        schema["maxLength"] = max_length
    if description is not None:
        schema["description"] = description
    return schema


def _read_only_time(what: str) -> Json:
    return {"type": "string", "readOnly": True, "description": what, "format": "date-time"}


def _times(of: str) -> Json:
    return {
        "created_at": _read_only_time(f"Date and time of {of} creation"),
        "updated_at": _read_only_time(f"Date and time of the last {of} modification"),
    }


_LINKS = {
    "schema": {"readOnly": True, "type": "string"},
    "self": {"readOnly": True, "type": "string"},
}
_COUNT = {"$ref": "#/definitions/positiveInteger"}
_COUNT_0 = {"$ref": "#/definitions/positiveIntegerDefault0"}
_NAMES = {"$ref": "#/definitions/stringArray"}

PROPERTY_ATTRIBUTES: Json = {
    "name": _text(80),
    "title": _text(),
    "description": _text(),
    "operators": {"type": "array", "items": {"type": "string"}},
    "type": {"type": "string", "enum": KINDS},
    "required": _NAMES,
    "minimum": {"type": "number"},
    "maximum": {"type": "number"},
    "maxLength": _COUNT,
    "minLength": _COUNT_0,
    "pattern": {"type": "string", "format": "regex"},
    "enum": {"type": "array"},
    "readonly": {"type": "boolean"},
    "default": {},
    "items": {
        "type": "object",
        "properties": {"type": {"type": "string", "enum": KINDS}, "enum": {"type": "array"}},
    },
    "maxItems": _COUNT,
    "minItems": _COUNT_0,
    "uniqueItems": {"type": "boolean", "default": False},
    "additionalItems": {"type": "boolean"},
}


def _definitions(*, with_property: bool) -> Json:
    definitions: Json = {
        "positiveInteger": {"type": "integer", "minimum": 0},
        "positiveIntegerDefault0": {"allOf": [_COUNT, {"default": 0}]},
        "stringArray": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
    }
    if with_property:
        definitions["property"] = {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["title", "type"],
                "properties": PROPERTY_ATTRIBUTES,
            },
        }
    return definitions


_PROPERTIES = {"$ref": "#/definitions/property"}
_ITEM_NAME = {"type": "object", "properties": {"name": {"type": "string"}}}

ASSOCIATION_ATTRIBUTES: Json = {
    "name": _text(
        80, "Resource type names should be aligned with Heat resource types whenever possible."
    ),
    "prefix": _text(
        80,
        "The prefix of the namespace's properties on resources of this type;"
        " it includes its separator (e.g. a colon).",
    ),
    "properties_target": _text(
        80,
        "Which of the resource's sets of properties the"
        " namespace's apply to, where it has several.",
    ),
    **_times("resource type association"),
}

OBJECT_ATTRIBUTES: Json = {
    "name": _text(80),
    "description": _text(),
    "required": _NAMES,
    "properties": _PROPERTIES,
    **_LINKS,
    **_times("object"),
}

NAMESPACE_ATTRIBUTES: Json = {
    "namespace": _text(80, "The unique namespace text."),
    "display_name": _text(80, "The user friendly name for the namespace."),
    "description": _text(500, "Provides a user friendly description of the namespace."),
    "visibility": {
        "type": "string",
        "description": "Scope of namespace accessibility.",
        "enum": ["public", "private"],
    },
    "protected": {"type": "boolean", "description": "If true, namespace will not be deletable."},
    "owner": _text(255, "Owner of the namespace."),
    **_times("namespace"),
    **_LINKS,
    "resource_type_associations": {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {k: {"type": "string"} for k in ("name", "prefix", "properties_target")},
        },
    },
    "properties": _PROPERTIES,
    "objects": {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "description": {"type": "string"},
                "required": _NAMES,
                "properties": _PROPERTIES,
            },
        },
    },
    "tags": {"type": "array", "items": _ITEM_NAME},
}


def _item(name: str, attributes: Json, required: list[str], definitions: Json | None) -> Json:
    schema: Json = {"name": name, "properties": attributes, "additionalProperties": False}
    if definitions:
        schema["definitions"] = definitions
    schema["required"] = required
    return schema


_PAGE_LINKS = [
    {"rel": "first", "href": "{first}"},
    {"rel": "next", "href": "{next}"},
    {"rel": "describedby", "href": "{schema}"},
]


def _collection(name: str, item: Json, *, keyed: bool = False) -> Json:
    """A page of `item`s under `name` (a list, or with `keyed` an object by name), the
    item's definitions hoisted to the top as Glance's collection schemas do."""
    item = dict(item)
    definitions = item.pop("definitions", None)
    members = (
        {"type": "object", "additionalProperties": item}
        if keyed
        else {"type": "array", "items": item}
    )
    schema: Json = {
        "name": name,
        "properties": {
            name: members,
            "first": {"type": "string"},
            "next": {"type": "string"},
            "schema": {"type": "string"},
        },
        "links": _PAGE_LINKS,
    }
    if definitions:
        schema["definitions"] = definitions
    return schema


def namespace_schema() -> Json:
    return _item("namespace", NAMESPACE_ATTRIBUTES, ["namespace"], _definitions(with_property=True))


def object_schema() -> Json:
    return _item("object", OBJECT_ATTRIBUTES, ["name"], _definitions(with_property=True))


def property_schema(*, named: bool = True) -> Json:
    required = ["type", "title", *(["name"] if named else [])]
    return _item("property", PROPERTY_ATTRIBUTES, required, _definitions(with_property=False))


def tag_schema() -> Json:
    return _item("tag", {"name": _text(80), **_times("tag")}, ["name"], None)


def association_schema() -> Json:
    return _item("resource_type_association", ASSOCIATION_ATTRIBUTES, ["name"], None)


SCHEMAS: dict[str, Callable[[], Json]] = {
    "namespace": namespace_schema,
    "namespaces": lambda: _collection("namespaces", namespace_schema()),
    "object": object_schema,
    "objects": lambda: _collection("objects", object_schema()),
    "property": property_schema,
    "properties": lambda: _collection("properties", property_schema(named=False), keyed=True),
    "tag": tag_schema,
    "tags": lambda: _collection("tags", tag_schema()),
    "resource_type": association_schema,
    "resource_types": lambda: _collection("resource_type_associations", association_schema()),
}
"""By the name in /v2/schemas/metadefs/{name}."""
