"""Request bodies of the metadefs API, checked as Glance's schemas check them: a read-only
attribute is 403, anything else the schema refuses (an unknown attribute, a wrong type,
a name over 80 characters...) is 400."""

import re
from typing import Annotated, Any, ClassVar, Literal, TypeVar

import msgspec
from aiohttp import web
from msgspec import Meta

from service.errors import BadRequest, Forbidden
from service.http.body import read_json

MAX_NAME = 80
Name = Annotated[str, Meta(max_length=MAX_NAME)]
Kind = Literal["array", "boolean", "integer", "number", "object", "string"]
Count = Annotated[int, Meta(ge=0)]
_TIMES = frozenset({"created_at", "updated_at"})
_LINKS = _TIMES | {"self", "schema"}


class Body(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """A body named after its Glance schema, with the attributes it may not set."""

    SCHEMA: ClassVar[str]
    READ_ONLY: ClassVar[frozenset[str]] = _TIMES


def _unique(values: list[str] | None, what: str) -> None:
    if values is not None and len(set(values)) != len(values):
        raise ValueError(f"{what} has non-unique elements")


class Items(msgspec.Struct, kw_only=True, omit_defaults=True):
    type: Kind | None = None
    enum: list[Any] | None = None


class PropertyBody(Body):
    """A property's schema; its `name` is the key in a namespace's or object's properties,
    and required in the body of its own create and update."""

    SCHEMA = "property"
    type: Kind | None
    title: str
    name: Name | None = None
    description: str | None = None
    operators: list[str] | None = None
    default: Any = None
    readonly: bool | None = None
    # camelCase: JSON Schema's own attribute names, which Glance's property schema uses.
    minimum: int | float | None = None
    maximum: int | float | None = None
    maxLength: Count | None = None
    minLength: Count | None = None
    pattern: str | None = None
    enum: list[Any] | None = None
    required: list[str] | None = None
    items: Items | None = None
    maxItems: Count | None = None
    minItems: Count | None = None
    uniqueItems: bool | None = None
    additionalItems: bool | None = None

    def __post_init__(self) -> None:
        _unique(self.required, "required")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as error:
                raise ValueError(f"pattern is not a regular expression: {error}") from None

    def schema(self) -> dict[str, Any]:
        """The property's schema as it is kept and shown, without its name."""
        kept: dict[str, Any] = msgspec.to_builtins(self)
        kept.pop("name", None)
        return kept


class ObjectBody(Body):
    SCHEMA = "object"
    READ_ONLY = _LINKS
    name: Name
    description: str | None = None
    required: list[str] | None = None
    properties: dict[str, PropertyBody] | None = None

    def __post_init__(self) -> None:
        _unique(self.required, "required")

    def fields(self) -> dict[str, Any]:
        """The object's attributes as its events carry them."""
        schemas = {name: p.schema() for name, p in (self.properties or {}).items()}
        return {
            "description": self.description,
            "required": None if self.required is None else tuple(self.required),
            "properties": None if self.properties is None else schemas,
        }


class TagBody(Body):
    SCHEMA = "tag"
    name: Name


class TagName(msgspec.Struct, forbid_unknown_fields=True):
    name: Name


class TagsBody(Body):
    SCHEMA = "tags"
    tags: list[TagName]


class AssociationBody(Body):
    SCHEMA = "resource_type_association"
    name: Name
    prefix: Name | None = None
    properties_target: Name | None = None


class NamespaceBody(Body):
    """A namespace to create, with its contents; an update takes only its attributes."""

    SCHEMA = "namespace"
    READ_ONLY = _LINKS
    namespace: Name
    display_name: Name | None = None
    description: Annotated[str, Meta(max_length=500)] | None = None
    visibility: Literal["public", "private"] | None = None
    protected: bool | None = None
    owner: Annotated[str, Meta(max_length=255)] | None = None
    resource_type_associations: list[AssociationBody] = []
    properties: dict[str, PropertyBody] = {}
    objects: list[ObjectBody] = []
    tags: list[TagName] = []


B = TypeVar("B", bound=Body)


async def read_body(request: web.Request, kind: type[B]) -> B:
    """The request's JSON body as `kind`: Forbidden (403) naming a read-only attribute it
    sets, BadRequest (400) naming what the schema refuses."""
    raw = await read_json(request, dict[str, Any])
    for name in sorted(kind.READ_ONLY & raw.keys()):
        raise Forbidden(f"Attribute '{name}' is read-only.")
    try:
        return msgspec.convert(raw, kind)
    except msgspec.ValidationError as error:
        raise BadRequest(
            f"Provided object does not match schema '{kind.SCHEMA}': {error}"
        ) from None
