"""Reading unified limits as services enforce them (Keystone's flat model), and the
configured defaults registered at start."""

from collections.abc import Mapping
from typing import Any

from events.clock import IdSource, RandomIds
from events.postgres import PostgresEventStore
from events.store import NO_STREAM, StreamAppend
from events.types import SYSTEM, Metadata
from service.identity import limit_events as ev


async def project_limits(
    db: Any, project_id: str, service_type: str, defaults: Mapping[str, int]
) -> dict[str, int]:
    """The project's limit of each resource in `defaults` for the service of that catalog
    type: its own limit, else the registered default, else the value in `defaults`."""
    rows = await db.fetch(
        "SELECT r.resource_name, coalesce(l.resource_limit, r.default_limit) AS value"
        " FROM rm_registered_limits r JOIN rm_services s ON s.id = r.service_id"
        " LEFT JOIN rm_limits l ON l.project_id = $1 AND l.service_id = r.service_id"
        " AND l.resource_name = r.resource_name"
        " AND l.region_id IS NOT DISTINCT FROM r.region_id"
        " WHERE s.type = $2 AND r.resource_name = ANY($3)",
        project_id,
        service_type,
        list(defaults),
    )
    return dict(defaults) | {row["resource_name"]: row["value"] for row in rows}


async def register_defaults(
    store: PostgresEventStore,
    service_type: str,
    defaults: Mapping[str, int],
    *,
    ids: IdSource | None = None,
) -> int:
    """Register `defaults` as the registered limits of the service of that catalog type,
    for each resource that has none yet (one an admin changed is kept; one deleted comes
    back with the configured value); how many were registered, in one append."""
    ids = ids or RandomIds()
    service = await store.pool.fetchrow(
        "SELECT id FROM rm_services WHERE type = $1 ORDER BY id LIMIT 1", service_type
    )
    if service is None:
        return 0
    registered = {
        row["resource_name"]
        for row in await store.pool.fetch(
            "SELECT resource_name FROM rm_registered_limits WHERE service_id = $1", service["id"]
        )
    }
    appends = []
    for resource, value in defaults.items():
        if resource not in registered:
            registered_id = ids.new_id().hex
            created = ev.RegisteredLimitCreated(
                registered_limit_id=registered_id,
                service_id=service["id"],
                resource_name=resource,
                default_limit=value,
            )
            appends.append(StreamAppend(f"registeredlimit-{registered_id}", [created], NO_STREAM))
    if appends:
        await store.append_streams(
            appends, metadata=Metadata(actor=SYSTEM, request_id="kumo-bootstrap")
        )
    return len(appends)
