"""Glance's JSON representations of namespaces and what they hold.

Attributes that are None are left out, as Glance leaves out what was never set; a
namespace's contents appear only when it has some. With a `prefix` (show with a
`resource_type`), property names are shown as that resource type knows them.
"""

from typing import Any

from service.image.metadefs.directory import Item, Namespace, ResourceType
from service.image.metadefs.fold import stamp

Json = dict[str, Any]
BASE = "/v2/metadefs/namespaces"
_ATTRIBUTES = ("namespace", "display_name", "description", "visibility", "protected", "owner")


def namespace_href(name: str) -> str:
    return f"{BASE}/{name}"


def namespace(ns: Namespace, *, associations: bool = True) -> Json:
    """A namespace's own attributes, and its resource type associations if any."""
    body: Json = {k: v for k in _ATTRIBUTES if (v := getattr(ns, k)) is not None}
    body.update(
        {
            "created_at": stamp(ns.created_at),
            "updated_at": stamp(ns.updated_at),
            "self": namespace_href(ns.namespace),
            "schema": "/v2/schemas/metadefs/namespace",
        }
    )
    if associations and ns.resource_types:
        body["resource_type_associations"] = ns.resource_types
    return body


def namespace_details(ns: Namespace, prefix: str = "") -> Json:
    """A namespace with all it holds."""
    body = namespace(ns)
    if ns.properties:
        body["properties"] = prefixed(ns.properties, prefix)
    if ns.objects:
        body["objects"] = [metadef_object(ns.namespace, o, prefix) for o in ns.objects]
    if ns.tags:
        body["tags"] = [{"name": t["name"]} for t in ns.tags]
    return body


def prefixed(properties: dict[str, Item], prefix: str = "") -> dict[str, Item]:
    """Properties by name (with `prefix`), in the order of their names (JSONB keeps none)."""
    return {prefix + name: properties[name] for name in sorted(properties)}


def metadef_object(namespace_name: str, item: Item, prefix: str = "") -> Json:
    body = dict(item)
    if "properties" in body:
        body["properties"] = prefixed(body["properties"], prefix)
    if prefix and "required" in body:
        body["required"] = [prefix + name for name in body["required"]]
    body["self"] = f"{namespace_href(namespace_name)}/objects/{item['name']}"
    body["schema"] = "/v2/schemas/metadefs/object"
    return body


def metadef_property(name: str, schema: Item) -> Json:
    return {"name": name, **schema}


def resource_type(rt: ResourceType) -> Json:
    return {"name": rt.name, "created_at": stamp(rt.created_at), "updated_at": stamp(rt.updated_at)}
