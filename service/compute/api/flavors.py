"""/v2.1/flavors: list (brief and detail) with Nova's filters, sorting and paging, show,
create and delete (admin), extra specs, and flavor access for private flavors."""

import re
from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
from aiohttp import web
from msgspec import Meta

from events.types import Event
from service.auth import AuthContext
from service.compute import events as ev
from service.compute.api.microversion import Microversion, version_of
from service.compute.api.params import boolean, integer
from service.compute.directory import FLAVOR_VISIBLE, Flavor, get, select, visible_flavor
from service.compute.policy_rules import authorize
from service.compute.server_view import links
from service.errors import BadRequest, Conflict, NotFound
from service.http.body import json_response, read_json
from service.http.recording import base_url, new_uuid, record, store

ROUTES = web.RouteTableDef()

Name = Annotated[str, Meta(min_length=1, max_length=255, pattern=r"^\S(?:.*\S)?$")]
FlavorId = Annotated[
    str, Meta(min_length=1, max_length=255, pattern=r"^(?! )[a-zA-Z0-9. _-]+(?<! )$")
]
SpecKey = Annotated[str, Meta(pattern=r"^[a-zA-Z0-9-_:. ]{1,255}$")]
SpecValue = Annotated[str, Meta(max_length=255)] | int | float | bool

MAX_LIMIT = 1000
SORT_KEYS = {
    # Nova's sort keys and the rm_flavors expression each sorts by
    "flavorid": "id",
    "id": "created_at",
    "created_at": "created_at",
    "updated_at": "created_at",
    "name": "name",
    "description": "coalesce(description, '')",
    "memory_mb": "ram",
    "root_gb": "disk",
    "ephemeral_gb": "ephemeral",
    "swap": "swap",
    "vcpus": "vcpus",
    "rxtx_factor": "rxtx_factor",
    "is_public": "is_public",
    "disabled": "id",
    "vcpu_weight": "id",
}


class NewFlavor(msgspec.Struct, rename={
    "ephemeral": "OS-FLV-EXT-DATA:ephemeral", "is_public": "os-flavor-access:is_public"
}):  # fmt: skip
    """A flavor to create; numbers may be given as strings, as Nova accepts them."""

    name: Name
    ram: int | str
    vcpus: int | str
    disk: int | str
    id: FlavorId | int | float | None = None
    ephemeral: int | str = 0
    swap: int | str = 0
    rxtx_factor: float | str = 1.0
    is_public: bool | str = True
    description: Annotated[str, Meta(max_length=65535)] | None = None

    def created(self, flavor_id: str) -> ev.FlavorCreated:
        """The event creating this flavor as `flavor_id`; BadRequest if a value is invalid."""
        return ev.FlavorCreated(
            flavor_id=flavor_id,
            name=self.name,
            vcpus=integer("vcpus", self.vcpus, 1),
            ram=integer("ram", self.ram, 1),
            disk=integer("disk", self.disk, 0),
            ephemeral=integer("OS-FLV-EXT-DATA:ephemeral", self.ephemeral, 0),
            swap=integer("swap", self.swap, 0),
            rxtx_factor=_rxtx_factor(self.rxtx_factor),
            is_public=boolean("os-flavor-access:is_public", self.is_public),
            description=self.description,
        )


def _rxtx_factor(value: float | str) -> float:
    """A positive float, or a string of one (digits, a point, digits)."""
    if isinstance(value, str) and not re.fullmatch(r"[0-9]+(\.[0-9]+)?", value):
        raise BadRequest(f"Invalid input for field/attribute rxtx_factor. Value: {value}.")
    factor = float(value)
    if factor <= 0:
        raise BadRequest(f"Invalid input for field/attribute rxtx_factor. Value: {value}.")
    return factor


class CreateFlavor(msgspec.Struct):
    flavor: NewFlavor


class ExtraSpecs(msgspec.Struct):
    extra_specs: dict[SpecKey, SpecValue]


class Tenant(msgspec.Struct):
    tenant: Annotated[str, Meta(min_length=1, max_length=255)]


class FlavorAction(msgspec.Struct, rename="camel"):
    add_tenant_access: Tenant | None = None
    remove_tenant_access: Tenant | None = None


def compute_url(request: web.Request) -> str:
    """The compute API's root URL (before /v2.1)."""
    return f"{base_url(request)}/compute"


def brief(flavor: Flavor, base: str, version: Microversion) -> dict[str, Any]:
    """The flavor as Nova lists it at `version`; `base` is the public URL's root."""
    view: dict[str, Any] = {
        "id": flavor.id,
        "links": links(base, "flavors", flavor.id),
        "name": flavor.name,
    }
    if version.at_least("2.55"):
        view["description"] = flavor.description
    return view


def detail(flavor: Flavor, base: str, version: Microversion) -> dict[str, Any]:
    """The flavor as Nova shows it at `version`; `base` is the public URL's root."""
    view = brief(flavor, base, version) | {
        "OS-FLV-DISABLED:disabled": False,
        "disk": flavor.disk,
        "OS-FLV-EXT-DATA:ephemeral": flavor.ephemeral,
        "os-flavor-access:is_public": flavor.is_public,
        "ram": flavor.ram,
        # Nova shows no swap as "" until 2.75
        "swap": flavor.swap or ("" if not version.at_least("2.75") else 0),
        "vcpus": flavor.vcpus,
        "rxtx_factor": flavor.rxtx_factor,
    }
    if version.at_least("2.61"):
        view["extra_specs"] = flavor.extra_specs
    return view


def _is_public_filter(request: web.Request, ctx: AuthContext) -> bool | None:
    """Which flavors a listing shows: public ones (True, Nova's default, and always for
    non-admins), private ones (False) or all (None, `is_public=none`, admins only)."""
    if not ctx.is_admin:
        return True
    chosen = request.query.get("is_public")
    if chosen is None:
        return True
    lowered = chosen.lower()
    if lowered == "none":
        return None
    # the words oslo's bool_from_string takes, as Nova reads them
    if lowered in ("1", "t", "true", "on", "y", "yes"):
        return True
    if lowered in ("0", "f", "false", "off", "n", "no"):
        return False
    raise BadRequest(f"Invalid is_public filter [{chosen}]")


def _int_param(request: web.Request, name: str, label: str) -> int | None:
    value = request.query.get(name)
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise BadRequest(f"Invalid {label} filter [{value}]")
    return number


async def _list(request: web.Request, view: Any, collection: str) -> web.Response:
    ctx = authorize(request, "os_compute_api:flavors")
    clauses: list[str] = []
    args: list[Any] = []

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    is_public = _is_public_filter(request, ctx)
    if is_public is not None:
        shared = FLAVOR_VISIBLE.format(p=arg(ctx.project_id)) if is_public else "false"
        clauses.append(f"(is_public = {arg(is_public)} OR {shared})")
    for name, label, column in (("minRam", "min_ram", "ram"), ("minDisk", "min_disk", "disk")):
        minimum = _int_param(request, name, label)
        if minimum is not None:
            clauses.append(f"{column} >= {arg(minimum)}")
    sort_key = request.query.get("sort_key", "flavorid")
    sort_dir = request.query.get("sort_dir", "asc").lower()
    if sort_key not in SORT_KEYS or sort_dir not in ("asc", "desc"):
        raise BadRequest(f"Invalid sort_key {sort_key!r} or sort_dir {sort_dir!r}.")
    expression = SORT_KEYS[sort_key]
    marker = request.query.get("marker")
    if marker is not None:
        after = await store(request).pool.fetchrow(
            f"SELECT {expression} AS value FROM rm_flavors WHERE id = $1", marker
        )
        if after is None:
            raise BadRequest(f"marker [{marker}] not found")
        cmp = ">" if sort_dir == "asc" else "<"
        clauses.append(f"({expression}, id) {cmp} ({arg(after['value'])}, {arg(marker)})")
    limit = min(_int_param(request, "limit", "limit") or MAX_LIMIT, MAX_LIMIT)
    order = f"{expression} {sort_dir}, id {sort_dir} LIMIT {limit}"
    where = " AND ".join(clauses) or "true"
    flavors = await select(store(request).pool, Flavor, where, *args, order=order)
    shown = [view(f, base_url(request), version_of(request)) for f in flavors]
    body: dict[str, Any] = {"flavors": shown}
    if flavors and len(flavors) == limit:
        query = dict(request.query) | {"marker": flavors[-1].id}
        href = f"{compute_url(request)}/v2.1/{collection}?{urlencode(query)}"
        body["flavors_links"] = [{"href": href, "rel": "next"}]
    return json_response(body)


@ROUTES.get("/v2.1/flavors")
async def list_flavors(request: web.Request) -> web.Response:
    return await _list(request, brief, "flavors")


@ROUTES.get("/v2.1/flavors/detail")
async def list_flavors_detail(request: web.Request) -> web.Response:
    return await _list(request, detail, "flavors/detail")


async def visible(request: web.Request, action: str) -> Flavor:
    """The flavor in the path once `action` is allowed; NotFound (404) if the caller may
    not see it (a private flavor not shared with its project), as if it did not exist."""
    ctx = authorize(request, action)
    flavor_id = request.match_info["flavor_id"]
    found = await visible_flavor(store(request).pool, flavor_id, ctx.project_id, ctx.is_admin)
    if found is None:
        raise NotFound(f"Flavor {flavor_id} could not be found.")
    return found


@ROUTES.get("/v2.1/flavors/{flavor_id}")
async def show_flavor(request: web.Request) -> web.Response:
    flavor = await visible(request, "os_compute_api:flavors")
    return json_response({"flavor": detail(flavor, base_url(request), version_of(request))})


@ROUTES.post("/v2.1/flavors")
async def create_flavor(request: web.Request) -> web.Response:
    authorize(request, "os_compute_api:os-flavor-manage:create")
    body = (await read_json(request, CreateFlavor)).flavor
    if body.description is not None and not version_of(request).at_least("2.55"):
        raise BadRequest("Additional properties are not allowed ('description' was unexpected)")
    # Nova keeps a numeric id as its text
    flavor_id = new_uuid(request) if body.id is None else str(body.id)
    created = body.created(flavor_id)
    if await get(store(request).pool, Flavor, flavor_id) is not None:
        raise Conflict(f"Flavor with ID {flavor_id} already exists.")
    await record(request, f"flavor-{flavor_id}", [created],
                 conflict=f"Flavor with name {body.name} already exists.")  # fmt: skip
    flavor = await get(store(request).pool, Flavor, flavor_id)
    assert flavor is not None
    return json_response({"flavor": detail(flavor, base_url(request), version_of(request))})


class FlavorChanges(msgspec.Struct, forbid_unknown_fields=True):
    description: Annotated[str, Meta(max_length=65535)] | None


class UpdateFlavor(msgspec.Struct):
    flavor: FlavorChanges


@ROUTES.put("/v2.1/flavors/{flavor_id}")
async def update_flavor(request: web.Request) -> web.Response:
    """Change a flavor's description (2.55; the only thing of a flavor that changes)."""
    if not version_of(request).at_least("2.55"):
        raise NotFound("The resource could not be found.")
    flavor = await visible(request, "os_compute_api:os-flavor-manage:update")
    changes = (await read_json(request, UpdateFlavor)).flavor
    updated = ev.FlavorUpdated(flavor_id=flavor.id, description=changes.description)
    await record(request, f"flavor-{flavor.id}", [updated])
    flavor = await get(store(request).pool, Flavor, flavor.id) or flavor
    return json_response({"flavor": detail(flavor, base_url(request), version_of(request))})


@ROUTES.delete("/v2.1/flavors/{flavor_id}")
async def delete_flavor(request: web.Request) -> web.Response:
    flavor = await visible(request, "os_compute_api:os-flavor-manage:delete")
    await record(request, f"flavor-{flavor.id}", [ev.FlavorDeleted(flavor_id=flavor.id)])
    return web.Response(status=202)


# --- extra specs ------------------------------------------------------------------------


@ROUTES.get("/v2.1/flavors/{flavor_id}/os-extra_specs")
async def list_extra_specs(request: web.Request) -> web.Response:
    flavor = await visible(request, "os_compute_api:os-flavor-extra-specs:index")
    return json_response({"extra_specs": flavor.extra_specs})


@ROUTES.post("/v2.1/flavors/{flavor_id}/os-extra_specs")
async def create_extra_specs(request: web.Request) -> web.Response:
    flavor = await visible(request, "os_compute_api:os-flavor-extra-specs:create")
    specs = _as_text((await read_json(request, ExtraSpecs)).extra_specs)
    await record(request, f"flavor-{flavor.id}", [ev.FlavorExtraSpecsSet(flavor_id=flavor.id,
                                                                        specs=specs)])  # fmt: skip
    return json_response({"extra_specs": specs})


def _spec(flavor: Flavor, key: str) -> str:
    if key not in flavor.extra_specs:
        raise NotFound(f"Flavor {flavor.id} has no extra specs with key {key}.")
    return flavor.extra_specs[key]


@ROUTES.get("/v2.1/flavors/{flavor_id}/os-extra_specs/{key}")
async def show_extra_spec(request: web.Request) -> web.Response:
    flavor = await visible(request, "os_compute_api:os-flavor-extra-specs:show")
    key = request.match_info["key"]
    return json_response({key: _spec(flavor, key)})


@ROUTES.put("/v2.1/flavors/{flavor_id}/os-extra_specs/{key}")
async def update_extra_spec(request: web.Request) -> web.Response:
    flavor = await visible(request, "os_compute_api:os-flavor-extra-specs:update")
    key = request.match_info["key"]
    specs = _as_text(await read_json(request, dict[SpecKey, SpecValue]))
    if len(specs) > 1:
        raise BadRequest("Request body contains too many items")
    if key not in specs:
        raise BadRequest("Request body and URI mismatch")
    await record(request, f"flavor-{flavor.id}", [ev.FlavorExtraSpecsSet(flavor_id=flavor.id,
                                                                        specs=specs)])  # fmt: skip
    return json_response(specs)


@ROUTES.delete("/v2.1/flavors/{flavor_id}/os-extra_specs/{key}")
async def delete_extra_spec(request: web.Request) -> web.Response:
    flavor = await visible(request, "os_compute_api:os-flavor-extra-specs:delete")
    key = request.match_info["key"]
    _spec(flavor, key)
    await record(request, f"flavor-{flavor.id}", [ev.FlavorExtraSpecDeleted(flavor_id=flavor.id,
                                                                           key=key)])  # fmt: skip
    return web.Response(status=200)


def _as_text(specs: dict[str, str | int | float | bool]) -> dict[str, str]:
    """Extra spec values as Nova stores them: numbers and booleans become strings."""
    return {key: value if isinstance(value, str) else str(value) for key, value in specs.items()}


# --- flavor access --------------------------------------------------------------------------


async def _access(request: web.Request, flavor_id: str) -> web.Response:
    rows = await store(request).pool.fetch(
        "SELECT project_id FROM rm_flavor_access WHERE flavor_id = $1 ORDER BY project_id",
        flavor_id,
    )
    items = [{"flavor_id": flavor_id, "tenant_id": r["project_id"]} for r in rows]
    return json_response({"flavor_access": items})


async def _has_access(request: web.Request, flavor_id: str, project_id: str) -> bool:
    found = await store(request).pool.fetchval(
        "SELECT 1 FROM rm_flavor_access WHERE flavor_id = $1 AND project_id = $2",
        flavor_id, project_id,
    )  # fmt: skip
    return found is not None


@ROUTES.get("/v2.1/flavors/{flavor_id}/os-flavor-access")
async def list_flavor_access(request: web.Request) -> web.Response:
    flavor = await visible(request, "os_compute_api:os-flavor-access")
    if flavor.is_public:
        raise NotFound("Access list not available for public flavors.")
    return await _access(request, flavor.id)


@ROUTES.post("/v2.1/flavors/{flavor_id}/action")
async def flavor_action(request: web.Request) -> web.Response:
    """`addTenantAccess` / `removeTenantAccess`: 200 with the flavor's access list."""
    action = await read_json(request, FlavorAction)
    if action.add_tenant_access is not None:
        flavor = await visible(request, "os_compute_api:os-flavor-access:add_tenant_access")
        project_id = action.add_tenant_access.tenant
        if flavor.is_public and version_of(request).at_least("2.7"):
            raise Conflict("Can not add access to a public flavor.")
        if await _has_access(request, flavor.id, project_id):
            raise Conflict(
                f"Flavor access already exists for flavor {flavor.id} and project "
                f"{project_id} combination."
            )
        event: Event = ev.FlavorAccessAdded(flavor_id=flavor.id, project_id=project_id)
    elif action.remove_tenant_access is not None:
        flavor = await visible(request, "os_compute_api:os-flavor-access:remove_tenant_access")
        project_id = action.remove_tenant_access.tenant
        if not await _has_access(request, flavor.id, project_id):
            raise NotFound(f"Flavor access not found for {flavor.id} / {project_id} combination.")
        event = ev.FlavorAccessRemoved(flavor_id=flavor.id, project_id=project_id)
    else:
        raise BadRequest("There is no such action in the request body.")
    await record(request, f"flavor-{flavor.id}", [event])
    return await _access(request, flavor.id)
