"""Keystone v3 JSON representations of identity resources."""

from datetime import UTC
from typing import Any

import msgspec

from service.identity.directory import (
    ApplicationCredential,
    Domain,
    Endpoint,
    EndpointGroup,
    Group,
    Policy,
    Project,
    Region,
    Role,
    Service,
    User,
    UserAccessRule,
)

Json = dict[str, Any]


def v3(base_url: str, path: str) -> str:
    """The public URL of an identity v3 path."""
    return f"{base_url}/identity/v3/{path}"


def collection(base_url: str, path: str, key: str, items: list[Json]) -> Json:
    """A Keystone list body: the items and the collection's links."""
    return {key: items, "links": {"self": v3(base_url, path), "previous": None, "next": None}}


def domain(d: Domain, base_url: str) -> Json:
    return {
        "id": d.id, "name": d.name, "description": d.description, "enabled": d.enabled,
        "tags": d.tags, "options": {}, "links": {"self": v3(base_url, f"domains/{d.id}")},
    }  # fmt: skip


def domain_as_project(d: Domain, base_url: str) -> Json:
    """A domain as /v3/projects shows it: a project acting as a domain (Keystone's model)."""
    return {
        "id": d.id, "name": d.name, "domain_id": None, "description": d.description,
        "enabled": d.enabled, "parent_id": None, "is_domain": True, "tags": d.tags,
        "options": {}, "links": {"self": v3(base_url, f"projects/{d.id}")},
    }  # fmt: skip


def project(p: Project, base_url: str) -> Json:
    return {
        "id": p.id, "name": p.name, "domain_id": p.domain_id, "description": p.description,
        "enabled": p.enabled, "parent_id": p.parent_id or p.domain_id, "is_domain": False,
        "tags": p.tags, "options": p.options,
        "links": {"self": v3(base_url, f"projects/{p.id}")},
    }  # fmt: skip


def user(u: User, base_url: str) -> Json:
    body: Json = {
        **u.extra,
        "id": u.id, "name": u.name, "domain_id": u.domain_id, "enabled": u.enabled,
        "password_expires_at": timestamp(u.password_expires_at), "options": u.options,
        "links": {"self": v3(base_url, f"users/{u.id}")},
    }  # fmt: skip
    for optional in ("default_project_id", "description", "email"):
        value = getattr(u, optional)
        if value is not None:
            body[optional] = value
    return body


def group(g: Group, base_url: str) -> Json:
    return {
        "id": g.id, "name": g.name, "domain_id": g.domain_id, "description": g.description,
        "links": {"self": v3(base_url, f"groups/{g.id}")},
    }  # fmt: skip


def role(r: Role, base_url: str) -> Json:
    return {
        "id": r.id, "name": r.name, "domain_id": r.domain_id, "description": r.description,
        "options": r.options, "links": {"self": v3(base_url, f"roles/{r.id}")},
    }  # fmt: skip


def region(r: Region, base_url: str) -> Json:
    return {
        "id": r.id, "description": r.description, "parent_region_id": r.parent_region_id,
        "links": {"self": v3(base_url, f"regions/{r.id}")},
    }  # fmt: skip


def service(s: Service, base_url: str) -> Json:
    return {
        "id": s.id, "type": s.type, "name": s.name, "description": s.description,
        "enabled": s.enabled, "links": {"self": v3(base_url, f"services/{s.id}")},
    }  # fmt: skip


def endpoint(e: Endpoint, base_url: str) -> Json:
    return {
        "id": e.id, "service_id": e.service_id, "interface": e.interface, "url": e.url,
        "region_id": e.region_id, "region": e.region_id, "enabled": e.enabled,
        "links": {"self": v3(base_url, f"endpoints/{e.id}")},
    }  # fmt: skip


def endpoint_group(g: EndpointGroup, base_url: str) -> Json:
    return {
        "id": g.id,
        "name": g.name,
        "description": g.description,
        "filters": g.filters,
        "links": {"self": v3(base_url, f"OS-EP-FILTER/endpoint_groups/{g.id}")},
    }


def access_rule(r: UserAccessRule, base_url: str) -> Json:
    return {
        "id": r.id,
        "service": r.service,
        "method": r.method,
        "path": r.path,
        "links": {"self": v3(base_url, f"users/{r.user_id}/access_rules/{r.id}")},
    }


def policy(p: Policy, base_url: str) -> Json:
    return {
        "id": p.id,
        "type": p.type,
        "blob": p.blob,
        "links": {"self": v3(base_url, f"policies/{p.id}")},
    }


def application_credential(a: ApplicationCredential, roles: list[Role], base_url: str) -> Json:
    return {
        "id": a.id, "name": a.name, "description": a.description, "user_id": a.user_id,
        "project_id": a.project_id, "expires_at": naive_utc(a.expires_at),
        "unrestricted": a.unrestricted, "access_rules": msgspec.to_builtins(a.access_rules),
        "roles": [{"id": r.id, "name": r.name, "domain_id": r.domain_id} for r in roles],
        "links": {"self": v3(base_url, f"users/{a.user_id}/application_credentials/{a.id}")},
    }  # fmt: skip


def naive_utc(value: Any) -> str | None:
    """ISO 8601 in UTC without a zone, as Keystone shows application-credential expiry."""
    if value is None:
        return None
    return str(value.astimezone(UTC).replace(tzinfo=None).isoformat())


def timestamp(value: Any) -> str | None:
    """Keystone's time format: ISO 8601 in UTC with microseconds and a Z."""
    if value is None:
        return None
    return str(value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
