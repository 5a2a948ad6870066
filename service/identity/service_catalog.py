"""The service catalog tokens carry, built from the services and endpoints read models."""

from typing import Any

from service.identity.directory import Endpoint, EndpointGroup, Service, select

PROJECT_ID_TEMPLATES = ("$(project_id)s", "$(tenant_id)s", "%(project_id)s", "%(tenant_id)s")
Catalog = list[dict[str, Any]]


async def load_catalog(db: Any) -> Catalog:
    """Enabled services with their enabled endpoints, URLs still templated."""
    services = await select(db, Service, "enabled")
    endpoints = await select(db, Endpoint, "enabled")
    return [
        {
            "id": service.id, "type": service.type, "name": service.name,
            "endpoints": [
                {"id": e.id, "interface": e.interface, "region": e.region_id,
                 "region_id": e.region_id, "url": e.url}
                for e in endpoints if e.service_id == service.id
            ],
        }
        for service in services
    ]  # fmt: skip


_GIVEN_ENDPOINTS = "SELECT endpoint_id FROM rm_project_endpoints WHERE project_id = $1"
_GIVEN_GROUPS = "SELECT endpoint_group_id FROM rm_project_endpoint_groups WHERE project_id = $1"


def matches(filters: dict[str, str], endpoint: Endpoint) -> bool:
    """Whether an endpoint group's filters (service_id, interface, region_id) take it."""
    return all(getattr(endpoint, key) == value for key, value in filters.items())


async def project_endpoint_groups(db: Any, project_id: str) -> list[EndpointGroup]:
    """The endpoint groups a project is given."""
    return await select(db, EndpointGroup, f"id IN ({_GIVEN_GROUPS})", project_id)


async def project_endpoints(db: Any, project_id: str) -> list[Endpoint]:
    """The endpoints a project is given (OS-EP-FILTER): directly, or by the filters of
    the endpoint groups it is given."""
    direct = await select(db, Endpoint, f"id IN ({_GIVEN_ENDPOINTS})", project_id)
    groups = await project_endpoint_groups(db, project_id)
    if not groups:
        return direct
    every = await select(db, Endpoint)
    grouped = [e for e in every if any(matches(g.filters, e) for g in groups)]
    return list({e.id: e for e in [*direct, *grouped]}.values())


def only(catalog: Catalog, endpoint_ids: set[str]) -> Catalog:
    """The catalog cut down to the given endpoints (services left with none go too)."""
    kept = []
    for service in catalog:
        endpoints = [e for e in service["endpoints"] if e["id"] in endpoint_ids]
        if endpoints:
            kept.append({**service, "endpoints": endpoints})
    return kept


def for_project(catalog: Catalog, project_id: str | None) -> Catalog:
    """The catalog with `$(project_id)s` filled in; an endpoint that needs a project is
    left out when there is none (as Keystone does)."""
    filled = []
    for service in catalog:
        endpoints = []
        for endpoint in service["endpoints"]:
            url = endpoint["url"]
            if any(t in url for t in PROJECT_ID_TEMPLATES):
                if project_id is None:
                    continue
                for template in PROJECT_ID_TEMPLATES:
                    url = url.replace(template, project_id)
            endpoints.append({**endpoint, "url": url})
        filled.append({**service, "endpoints": endpoints})
    return filled
