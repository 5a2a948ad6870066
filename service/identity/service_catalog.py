"""The service catalog tokens carry, built from the services and endpoints read models."""

from typing import Any

from service.identity.directory import Endpoint, Service, select

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
