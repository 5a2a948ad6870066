"""The compute read models (rm_* tables of migrations/0006_compute.sql), kept inline."""

from typing import Any

from events.types import Event, RecordedEvent
from projections.bulk import FoldedTable, Sides, Subset
from projections.projection import Projection
from projections.rows import Evolve, project_row, set_fields, update_row, write_row
from service.compute import events as ev
from service.compute import fold, quota, rebuild
from service.compute.fold import FLAVOR_JSON, SERVER_JSON
from service.network import quota as network_quota


def _event_types() -> frozenset[str]:
    return frozenset(
        cls.type_name()
        for cls in vars(ev).values()
        if isinstance(cls, type) and issubclass(cls, Event) and cls is not Event
    )


def action_id(recorded: RecordedEvent) -> str:
    """The instance-action id of an event: the request that caused it."""
    return recorded.metadata.request_id or f"req-{recorded.event_id}"


_ROWS: dict[str, tuple[str, Evolve, tuple[str, ...]]] = {
    "server": ("rm_servers", fold.server, SERVER_JSON),
    "flavor": ("rm_flavors", fold.flavor, FLAVOR_JSON),
    "keypair": ("rm_keypairs", fold.keypair, ()),
    "servergroup": ("rm_server_groups", fold.server_group, ("rules",)),
    "aggregate": ("rm_aggregates", fold.aggregate, ("metadata",)),
}
"""Rows kept by their stream's fold (service/compute/fold.py), by stream category."""


class ComputeSide:
    """What compute keeps besides its folded rows: instance actions, flavor access,
    quotas, security groups and hosts.

    Its one read of a folded table is a server's project_id, which the server's row
    holds from its first event on and never changes: a rebuild may write the folded
    rows first (projections/bulk.py).
    """

    name: str = "compute_side"
    tables: tuple[str, ...] = (
        "rm_flavor_access",
        "rm_instance_actions",
        "rm_quota_limits",
        "rm_quota_class_limits",
        "rm_quota_usage",
        "rm_security_groups",
        "rm_security_group_rules",
        "rm_hosts",
    )
    types: frozenset[str] | None = _event_types()

    async def apply(self, conn: Any, recorded: RecordedEvent) -> None:
        if recorded.category == "server":
            await _actions(conn, recorded, recorded.stream_id.removeprefix("server-"))
        else:
            await _other(conn, recorded)


_SIDE = ComputeSide()


class ComputeProjection:
    """Flavors, keypairs, servers and their actions, quotas, security and server groups,
    hosts."""

    name: str = "compute"
    tables: tuple[str, ...] = (
        "rm_flavors",
        "rm_flavor_access",
        "rm_keypairs",
        "rm_servers",
        "rm_instance_actions",
        "rm_quota_limits",
        "rm_quota_class_limits",
        "rm_quota_usage",
        "rm_security_groups",
        "rm_security_group_rules",
        "rm_server_groups",
        "rm_hosts",
        "rm_aggregates",
    )
    types: frozenset[str] | None = _event_types()
    folds: tuple[FoldedTable, ...] = (
        *(
            FoldedTable(table, evolve, frozenset({category}), json_columns)
            for category, (table, evolve, json_columns) in _ROWS.items()
        ),
        *rebuild.FOLDS,
    )
    side: Projection | None = Sides(
        "compute_side", rebuild.QUOTA_USAGE, Subset(_SIDE, rebuild.SIDE_TYPES)
    )
    reads_bodies: bool = True

    async def apply(self, conn: Any, recorded: RecordedEvent) -> None:
        """The row the event's stream owns by its fold, then the rest (`ComputeSide`)."""
        category = recorded.category
        if category in _ROWS:
            table, evolve, json_columns = _ROWS[category]
            key = {"id": recorded.stream_id.removeprefix(f"{category}-")}
            if recorded.version == 1:
                # A stream's first event: its row cannot exist yet, so it is not read.
                new = evolve(None, recorded)
                await write_row(conn, table, key, None, new, json_columns=json_columns)
            else:
                await project_row(conn, table, key, evolve, recorded, json_columns=json_columns)
        await _SIDE.apply(conn, recorded)


async def _start_action(
    conn: Any, recorded: RecordedEvent, server_id: str, action: str, project_id: str | None = None
) -> None:
    await conn.execute(
        "INSERT INTO rm_instance_actions (server_id, request_id, action, project_id, user_id,"
        " start_time, position) VALUES ($1, $2, $3,"
        " coalesce($4, (SELECT project_id FROM rm_servers WHERE id = $1)), $5, $6, $7)"
        " ON CONFLICT DO NOTHING",
        server_id,
        action_id(recorded),
        action,
        project_id,
        recorded.metadata.actor.user_id,
        recorded.recorded_at,
        recorded.position,
    )


async def _finish_action(
    conn: Any,
    recorded: RecordedEvent,
    server_id: str,
    action: str,
    result: str,
    message: str | None = None,
) -> None:
    """Close the latest open action of that kind (its request is the one that started it)."""
    await conn.execute(
        "UPDATE rm_instance_actions SET finish_time = $3, result = $4, message = $5"
        " WHERE server_id = $1 AND action = $2 AND finish_time IS NULL"
        " AND position = (SELECT max(position) FROM rm_instance_actions"
        " WHERE server_id = $1 AND action = $2 AND finish_time IS NULL)",
        server_id,
        action,
        recorded.recorded_at,
        result,
        message,
    )


async def _actions(conn: Any, recorded: RecordedEvent, server_id: str) -> None:
    match recorded.event:
        case ev.ServerCreateRequested(project_id=project_id):
            await _start_action(conn, recorded, server_id, "create", project_id)
        case ev.ServerActive():
            await _finish_action(conn, recorded, server_id, "create", "Success")
        case ev.ServerFailed(message=message):
            await _finish_action(conn, recorded, server_id, "create", "Error", message)
        case ev.ServerDeleteRequested():
            await _start_action(conn, recorded, server_id, "delete")
        case ev.ServerDeleted():
            await _finish_action(conn, recorded, server_id, "delete", "Success")
        case ev.ServerActionRequested(action=action):
            await _start_action(conn, recorded, server_id, action)
        case ev.ServerActionSucceeded(action=action):
            await _finish_action(conn, recorded, server_id, action, "Success")
        case ev.ServerActionFailed(action=action, message=message):
            await _finish_action(conn, recorded, server_id, action, "Error", message)
        case ev.ServerLocked() | ev.ServerUnlocked():
            action = "lock" if isinstance(recorded.event, ev.ServerLocked) else "unlock"
            await _start_action(conn, recorded, server_id, action)
            await _finish_action(conn, recorded, server_id, action, "Success")


async def _other(conn: Any, recorded: RecordedEvent) -> None:
    at = recorded.recorded_at
    match recorded.event:
        case ev.FlavorDeleted(flavor_id=flavor_id):
            await conn.execute("DELETE FROM rm_flavor_access WHERE flavor_id = $1", flavor_id)
        case ev.FlavorAccessAdded(flavor_id=flavor_id, project_id=project_id):
            await conn.execute(
                "INSERT INTO rm_flavor_access VALUES ($1, $2) ON CONFLICT DO NOTHING",
                flavor_id,
                project_id,
            )
        case ev.FlavorAccessRemoved(flavor_id=flavor_id, project_id=project_id):
            await conn.execute(
                "DELETE FROM rm_flavor_access WHERE flavor_id = $1 AND project_id = $2",
                flavor_id,
                project_id,
            )
        case ev.QuotaLimitsSet(project_id=project_id, limits=limits):
            await conn.executemany(
                "INSERT INTO rm_quota_limits VALUES ($1, $2, $3)"
                " ON CONFLICT (project_id, resource) DO UPDATE SET hard_limit = $3",
                [(project_id, resource, value) for resource, value in limits.items()],
            )
        case ev.QuotaLimitsDeleted(project_id=project_id, resources=resources):
            await conn.execute(
                "DELETE FROM rm_quota_limits WHERE project_id = $1 AND resource = ANY($2)",
                project_id,
                list(resources),
            )
        case ev.QuotaClassLimitsSet(quota_class=quota_class, limits=limits):
            await conn.executemany(
                "INSERT INTO rm_quota_class_limits VALUES ($1, $2, $3)"
                " ON CONFLICT (quota_class, resource) DO UPDATE SET hard_limit = $3",
                [(quota_class, resource, value) for resource, value in limits.items()],
            )
        case ev.ResourcesClaimed() as e:
            after, limit = await _add_usage(conn, e.project_id, e.instances, e.cores, e.ram)
            quota.enforce(e, after, limit)
        case ev.ResourcesReleased() as e:
            await _add_usage(conn, e.project_id, -e.instances, -e.cores, -e.ram)
        case ev.SecurityGroupCreated() as e:
            await conn.execute(
                "INSERT INTO rm_security_groups VALUES ($1, $2, $3, $4, $5)",
                e.group_id,
                e.project_id,
                e.name,
                e.description,
                at,
            )
            await network_quota.enforce_held(conn, e.project_id, "security_group")
        case ev.SecurityGroupUpdated() as e:
            await update_row(
                conn, "rm_security_groups", ("id", e.group_id), set_fields(e, exclude={"group_id"})
            )
        case ev.SecurityGroupDeleted(group_id=group_id):
            await conn.execute("DELETE FROM rm_security_groups WHERE id = $1", group_id)
            await conn.execute("DELETE FROM rm_security_group_rules WHERE group_id = $1", group_id)
        case ev.SecurityGroupRuleAdded() as e:
            await conn.execute(
                "INSERT INTO rm_security_group_rules VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                e.rule_id,
                e.group_id,
                e.direction,
                e.ethertype,
                e.protocol,
                e.port_range_min,
                e.port_range_max,
                e.remote_ip_prefix,
                e.remote_group_id,
            )
            owner = await conn.fetchval(
                "SELECT project_id FROM rm_security_groups WHERE id = $1", e.group_id
            )
            if owner is not None:
                await network_quota.enforce_held(conn, owner, "security_group_rule")
        case ev.SecurityGroupRuleRemoved(rule_id=rule_id):
            await conn.execute("DELETE FROM rm_security_group_rules WHERE id = $1", rule_id)
        case ev.HostRegistered() as e:
            await conn.execute(
                "INSERT INTO rm_hosts (name, uri, hypervisor_type, vcpus, memory_mb, disk_gb,"
                " availability_zone, registered_at, updated_at, booted_at)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9) ON CONFLICT (name) DO UPDATE"
                " SET uri = $2, hypervisor_type = $3, vcpus = $4, memory_mb = $5, disk_gb = $6,"
                " availability_zone = $7, updated_at = $8, booted_at = $9",
                e.host,
                e.uri,
                e.hypervisor_type,
                e.vcpus,
                e.memory_mb,
                e.disk_gb,
                e.availability_zone,
                at,
                e.booted_at,
            )
        case ev.HostStatusChanged(host=host, enabled=enabled, reason=reason):
            await conn.execute(
                "UPDATE rm_hosts SET enabled = $2, disabled_reason = $3, updated_at = $4"
                " WHERE name = $1",
                host,
                enabled,
                reason,
                at,
            )


async def _add_usage(
    conn: Any, project_id: str, instances: int, cores: int, ram: int
) -> tuple[dict[str, int], dict[str, int]]:
    """Add to the project's usage (locking its row until commit); the usage after, and the
    project's limits, read in the same statement."""
    row = await conn.fetchrow(
        "INSERT INTO rm_quota_usage VALUES ($1, $2, $3, $4) ON CONFLICT (project_id) DO UPDATE"
        " SET instances = rm_quota_usage.instances + $2, cores = rm_quota_usage.cores + $3,"
        f" ram = rm_quota_usage.ram + $4 RETURNING instances, cores, ram, {quota.SET_LIMITS}",
        project_id,
        instances,
        cores,
        ram,
    )
    used = {"instances": row["instances"], "cores": row["cores"], "ram": row["ram"]}
    return used, quota.with_defaults(row)
