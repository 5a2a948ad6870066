"""The compute read models (rm_* tables of migrations/0006_compute.sql), kept inline."""

from typing import Any

import msgspec

from events.types import Event, RecordedEvent
from projections.rows import set_fields, update_row
from service.compute import events as ev
from service.compute import quota

_SERVER_JSON = ("flavor", "metadata", "fault", "previous_flavor")


def _event_types() -> frozenset[str]:
    return frozenset(
        cls.type_name()
        for cls in vars(ev).values()
        if isinstance(cls, type) and issubclass(cls, Event) and cls is not Event
    )


def action_id(recorded: RecordedEvent) -> str:
    """The instance-action id of an event: the request that caused it."""
    return recorded.metadata.request_id or f"req-{recorded.event_id}"


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
        "rm_quota_usage",
        "rm_security_groups",
        "rm_security_group_rules",
        "rm_server_groups",
        "rm_hosts",
    )
    types: frozenset[str] | None = _event_types()

    async def apply(self, conn: Any, recorded: RecordedEvent) -> None:
        event = recorded.event
        server_id = getattr(event, "server_id", None)
        if isinstance(event, ev.ServerCreateRequested):
            await _create_server(conn, recorded, event)
        elif server_id is not None and not isinstance(
            event, ev.ResourcesClaimed | ev.ResourcesReleased
        ):
            await _server_changed(conn, recorded, server_id)
        else:
            await _other(conn, recorded)


async def _create_server(conn: Any, recorded: RecordedEvent, e: ev.ServerCreateRequested) -> None:
    at = recorded.recorded_at
    await conn.execute(
        "INSERT INTO rm_servers (id, project_id, user_id, name, vm_state, task_state,"
        " power_state, flavor, image_id, key_name, metadata, availability_zone, config_drive,"
        " reservation_id, launch_index, security_groups, server_group_id, tags, description,"
        " access_ipv4, access_ipv6, hostname, created_at, updated_at, version)"
        " VALUES ($1, $2, $3, $4, 'building', 'scheduling', 0, $5::jsonb, $6, $7, $8::jsonb,"
        " $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $20, $21)",
        e.server_id,
        e.project_id,
        e.user_id,
        e.name,
        msgspec.json.encode(e.flavor),
        e.image_id,
        e.key_name,
        msgspec.json.encode(e.metadata),
        e.availability_zone,
        e.config_drive,
        e.reservation_id,
        e.launch_index,
        list(e.security_groups),
        e.server_group_id,
        list(e.tags),
        e.description,
        e.access_ipv4,
        e.access_ipv6,
        e.hostname,
        at,
        recorded.version,
    )
    await _start_action(conn, recorded, e.server_id, "create", e.project_id)


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


async def _server_changed(conn: Any, recorded: RecordedEvent, server_id: str) -> None:
    at = recorded.recorded_at
    changes: dict[str, Any] = {"updated_at": at, "version": recorded.version}
    match recorded.event:
        case ev.ServerScheduled(host=host, node=node):
            changes |= {"host": host, "node": node, "task_state": "spawning"}
        case ev.ServerActive(host=host, launched_at=launched_at):
            changes |= {
                "host": host,
                "vm_state": "active",
                "task_state": None,
                "power_state": 1,
                "launched_at": launched_at,
            }
            await _finish_action(conn, recorded, server_id, "create", "Success")
        case ev.ServerFailed(message=message, code=code, details=details):
            fault = {
                "code": code,
                "message": message,
                "details": details,
                "created": at.isoformat(),
            }
            changes |= {"vm_state": "error", "task_state": None, "fault": fault}
            await _finish_action(conn, recorded, server_id, "create", "Error", message)
        case ev.ServerUpdated() as e:
            changes |= set_fields(e, exclude={"server_id"})
        case ev.ServerDeleteRequested():
            changes |= {"task_state": "deleting"}
            await _start_action(conn, recorded, server_id, "delete")
        case ev.ServerDeleted():
            changes |= {
                "deleted": True,
                "vm_state": "deleted",
                "task_state": None,
                "power_state": 0,
                "terminated_at": at,
            }
            await _finish_action(conn, recorded, server_id, "delete", "Success")
        case ev.ServerActionRequested(action=action, task_state=task_state, params=params):
            changes |= {"task_state": task_state}
            if action == "rebuild":  # Nova shows the new image, name and metadata at once
                changes |= {k: v for k, v in params.items() if k in ("image_id", "name")}
                if "metadata" in params:
                    changes["metadata"] = params["metadata"]
            await _start_action(conn, recorded, server_id, action)
        case ev.ServerActionSucceeded(action=action, vm_state=vm_state, power_state=power) as e:
            changes |= {"vm_state": vm_state, "power_state": power, "task_state": None}
            changes |= {k: v for k, v in e.changes.items() if k in _ACTION_CHANGES}
            await _finish_action(conn, recorded, server_id, action, "Success")
        case ev.ServerActionFailed(action=action, message=message):
            changes |= {"task_state": None}
            await _finish_action(conn, recorded, server_id, action, "Error", message)
        case ev.ServerPowerObserved(vm_state=vm_state, power_state=power):
            changes |= {"vm_state": vm_state, "power_state": power}
        case ev.ServerLocked(locked_by=by, reason=reason):
            changes |= {"locked": True, "locked_by": by, "locked_reason": reason}
            await _start_action(conn, recorded, server_id, "lock")
            await _finish_action(conn, recorded, server_id, "lock", "Success")
        case ev.ServerUnlocked():
            changes |= {"locked": False, "locked_by": None, "locked_reason": None}
            await _start_action(conn, recorded, server_id, "unlock")
            await _finish_action(conn, recorded, server_id, "unlock", "Success")
        case ev.ServerMetadataSet(items=items, replace=replace):
            current = {} if replace else await _metadata(conn, server_id)
            changes |= {"metadata": current | items}
        case ev.ServerMetadataItemDeleted(key=key):
            current = await _metadata(conn, server_id)
            current.pop(key, None)
            changes |= {"metadata": current}
        case ev.ServerTagsSet(tags=tags):
            changes |= {"tags": list(tags)}
        case ev.ServerSecurityGroupAdded(name=name):
            await conn.execute(
                "UPDATE rm_servers SET security_groups = array_append(security_groups, $2)"
                " WHERE id = $1 AND NOT $2 = ANY(security_groups)",
                server_id,
                name,
            )
        case ev.ServerSecurityGroupRemoved(name=name):
            await conn.execute(
                "UPDATE rm_servers SET security_groups = array_remove(security_groups, $2)"
                " WHERE id = $1",
                server_id,
                name,
            )
    await update_row(conn, "rm_servers", ("id", server_id), changes, json_columns=_SERVER_JSON)


_ACTION_CHANGES = {"image_id", "flavor", "previous_flavor", "name", "host", "node"}
"""Server attributes an action may change (rebuild: image; resize: flavor)."""


async def _metadata(conn: Any, server_id: str) -> dict[str, str]:
    raw = await conn.fetchval("SELECT metadata FROM rm_servers WHERE id = $1", server_id)
    decoded: dict[str, str] = msgspec.json.decode(raw) if raw else {}
    return decoded


async def _other(conn: Any, recorded: RecordedEvent) -> None:
    at = recorded.recorded_at
    match recorded.event:
        case ev.FlavorCreated() as e:
            await conn.execute(
                "INSERT INTO rm_flavors (id, name, vcpus, ram, disk, ephemeral, swap,"
                " rxtx_factor, is_public, description, created_at)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                e.flavor_id,
                e.name,
                e.vcpus,
                e.ram,
                e.disk,
                e.ephemeral,
                e.swap,
                e.rxtx_factor,
                e.is_public,
                e.description,
                at,
            )
        case ev.FlavorUpdated() as e:
            await update_row(
                conn, "rm_flavors", ("id", e.flavor_id), set_fields(e, exclude={"flavor_id"})
            )
        case ev.FlavorDeleted(flavor_id=flavor_id):
            await conn.execute("DELETE FROM rm_flavors WHERE id = $1", flavor_id)
            await conn.execute("DELETE FROM rm_flavor_access WHERE flavor_id = $1", flavor_id)
        case ev.FlavorExtraSpecsSet(flavor_id=flavor_id, specs=specs):
            await conn.execute(
                "UPDATE rm_flavors SET extra_specs = extra_specs || $2::jsonb WHERE id = $1",
                flavor_id,
                msgspec.json.encode(specs),
            )
        case ev.FlavorExtraSpecDeleted(flavor_id=flavor_id, key=key):
            await conn.execute(
                "UPDATE rm_flavors SET extra_specs = extra_specs - $2 WHERE id = $1",
                flavor_id,
                key,
            )
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
        case ev.KeypairCreated() as e:
            await conn.execute(
                "INSERT INTO rm_keypairs VALUES ($1, $2, $3, $4, $5, $6, $7)",
                e.keypair_id,
                e.user_id,
                e.name,
                e.public_key,
                e.fingerprint,
                e.type,
                at,
            )
        case ev.KeypairDeleted(keypair_id=keypair_id):
            await conn.execute("DELETE FROM rm_keypairs WHERE id = $1", keypair_id)
        case ev.QuotaLimitsSet(project_id=project_id, limits=limits):
            await conn.executemany(
                "INSERT INTO rm_quota_limits VALUES ($1, $2, $3)"
                " ON CONFLICT (project_id, resource) DO UPDATE SET hard_limit = $3",
                [(project_id, resource, value) for resource, value in limits.items()],
            )
        case ev.ResourcesClaimed() as e:
            after = await _add_usage(conn, e.project_id, e.instances, e.cores, e.ram)
            await quota.enforce(conn, e, after)
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
        case ev.SecurityGroupRuleRemoved(rule_id=rule_id):
            await conn.execute("DELETE FROM rm_security_group_rules WHERE id = $1", rule_id)
        case ev.ServerGroupCreated() as e:
            await conn.execute(
                "INSERT INTO rm_server_groups VALUES ($1, $2, $3, $4, $5, $6)",
                e.group_id,
                e.project_id,
                e.user_id,
                e.name,
                e.policy,
                at,
            )
        case ev.ServerGroupDeleted(group_id=group_id):
            await conn.execute("DELETE FROM rm_server_groups WHERE id = $1", group_id)
        case ev.HostRegistered() as e:
            await conn.execute(
                "INSERT INTO rm_hosts (name, uri, hypervisor_type, vcpus, memory_mb, disk_gb,"
                " availability_zone, registered_at, updated_at)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) ON CONFLICT (name) DO UPDATE SET"
                " uri = $2, hypervisor_type = $3, vcpus = $4, memory_mb = $5, disk_gb = $6,"
                " availability_zone = $7, updated_at = $8",
                e.host,
                e.uri,
                e.hypervisor_type,
                e.vcpus,
                e.memory_mb,
                e.disk_gb,
                e.availability_zone,
                at,
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
) -> dict[str, int]:
    """Add to the project's usage (locking its row until commit); the usage after."""
    row = await conn.fetchrow(
        "INSERT INTO rm_quota_usage VALUES ($1, $2, $3, $4) ON CONFLICT (project_id) DO UPDATE"
        " SET instances = rm_quota_usage.instances + $2, cores = rm_quota_usage.cores + $3,"
        " ram = rm_quota_usage.ram + $4 RETURNING instances, cores, ram",
        project_id,
        instances,
        cores,
        ram,
    )
    return dict(row)
