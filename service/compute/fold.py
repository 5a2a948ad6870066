"""The compute rows each stream owns, as pure folds of its events (projections/rows.py):
rm_servers of `server-<id>`, rm_flavors of `flavor-<id>`, rm_keypairs of `keypair-<id>`,
rm_server_groups of `servergroup-<id>`, rm_aggregates of `aggregate-<number>`. The inline
projection writes them; time travel rebuilds them from the stream alone.

A deleted server or aggregate keeps its row (`deleted`, as Nova's soft delete); other
resources' rows go. Events for a row that does not exist leave it absent.
"""

from typing import Any

import msgspec
from msgspec import UnsetType

from events.types import Event, RecordedEvent
from projections.rows import Evolve, Row, set_fields
from service.compute import events as ev

SERVER_JSON = ("flavor", "metadata", "fault", "previous_flavor")
FLAVOR_JSON = ("extra_specs",)
_ACTION_CHANGES = {"image_id", "flavor", "previous_flavor", "name", "host", "node"}
"""Server attributes an action may change (rebuild: image; resize: flavor)."""


def _created_server(recorded: RecordedEvent, e: ev.ServerCreateRequested) -> Row:
    """The row a ServerCreateRequested makes: building, scheduling, unplaced."""
    at = recorded.recorded_at
    requested = msgspec.to_builtins(e)
    kept = {
        name: requested[name]
        for name in (
            "project_id", "user_id", "name", "flavor", "image_id", "key_name", "metadata",
            "availability_zone", "config_drive", "reservation_id", "launch_index",
            "security_groups", "server_group_id", "tags", "description", "access_ipv4",
            "access_ipv6", "hostname", "disk_config", "user_data", "public_key",
        )
    }  # fmt: skip
    return kept | {
        "id": e.server_id,
        "key_type": e.key_type if e.public_key is not None else None,
        "vm_state": "building",
        "task_state": "scheduling",
        "power_state": 0,
        "host": None,
        "node": None,
        "locked": False,
        "locked_by": None,
        "locked_reason": None,
        "fault": None,
        "previous_flavor": None,
        "created_at": at,
        "updated_at": at,
        "launched_at": None,
        "terminated_at": None,
        "deleted": False,
        "version": recorded.version,
    }


def server(row: Row | None, recorded: RecordedEvent) -> Row | None:
    """rm_servers' row after one event of the server's stream."""
    if isinstance(recorded.event, ev.ServerCreateRequested):
        return _created_server(recorded, recorded.event)
    if row is None:
        return None
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
        case ev.ServerFailed(message=message, code=code, details=details):
            fault = {"code": code, "message": message, "details": details}
            changes |= {
                "vm_state": "error",
                "task_state": None,
                "fault": fault | {"created": at.isoformat()},
            }
        case ev.ServerUpdated() as e:
            changes |= set_fields(e, exclude={"server_id"})
        case ev.ServerDeleteRequested():
            changes["task_state"] = "deleting"
        case ev.ServerDeleted():
            changes |= {
                "deleted": True,
                "vm_state": "deleted",
                "task_state": None,
                "power_state": 0,
                "terminated_at": at,
            }
        case ev.ServerActionRequested(
            action=action, task_state=task_state, params=params, user_data=user_data
        ):
            changes["task_state"] = task_state
            if not isinstance(user_data, UnsetType):
                changes["user_data"] = user_data
            if action == "rebuild":  # Nova shows the new image, name, key and metadata at once
                changes |= {
                    k: v
                    for k, v in params.items()
                    if k in ("image_id", "name", "key_name", "metadata", "config_drive")
                }
                if "key_name" in params:  # its copy of the pair (none in rebuilds before 0035)
                    changes["public_key"] = params.get("public_key")
                    changes["key_type"] = params.get("key_type")
            if "disk_config" in params:  # of a rebuild or a resize: shown at once too
                changes["disk_config"] = params["disk_config"]
        case ev.ServerActionSucceeded(vm_state=vm_state, power_state=power) as e:
            changes |= {"vm_state": vm_state, "power_state": power, "task_state": None}
            changes |= {k: v for k, v in e.changes.items() if k in _ACTION_CHANGES}
        case ev.ServerActionFailed():
            changes["task_state"] = None
        case ev.ServerPowerObserved(vm_state=vm_state, power_state=power):
            changes |= {"vm_state": vm_state, "power_state": power}
        case ev.ServerStateReset(vm_state=vm_state):
            changes |= {"vm_state": vm_state, "task_state": None}
        case ev.ServerLocked(locked_by=by, reason=reason):
            changes |= {"locked": True, "locked_by": by, "locked_reason": reason}
        case ev.ServerUnlocked():
            changes |= {"locked": False, "locked_by": None, "locked_reason": None}
        case ev.ServerMetadataSet(items=items, replace=replace):
            changes["metadata"] = ({} if replace else row["metadata"]) | items
        case ev.ServerMetadataItemDeleted(key=key):
            changes["metadata"] = {k: v for k, v in row["metadata"].items() if k != key}
        case ev.ServerTagsSet(tags=tags):
            changes["tags"] = list(tags)
        case ev.ServerSecurityGroupAdded(name=name) if name not in row["security_groups"]:
            changes["security_groups"] = [*row["security_groups"], name]
        case ev.ServerSecurityGroupRemoved(name=name):
            changes["security_groups"] = [g for g in row["security_groups"] if g != name]
    return row | changes


def flavor(row: Row | None, recorded: RecordedEvent) -> Row | None:
    """rm_flavors' row after one event of the flavor's stream (access: another table)."""
    match recorded.event:
        case ev.FlavorCreated() as e:
            return set_fields(e, exclude={"flavor_id"}) | {
                "id": e.flavor_id,
                "extra_specs": {},
                "created_at": recorded.recorded_at,
            }
        case _ if row is None:
            return None
        case ev.FlavorUpdated() as e:
            return row | set_fields(e, exclude={"flavor_id"})
        case ev.FlavorDeleted():
            return None
        case ev.FlavorExtraSpecsSet(specs=specs):
            return row | {"extra_specs": row["extra_specs"] | specs}
        case ev.FlavorExtraSpecDeleted(key=key):
            return row | {"extra_specs": {k: v for k, v in row["extra_specs"].items() if k != key}}
    return row


def aggregate(row: Row | None, recorded: RecordedEvent) -> Row | None:
    """rm_aggregates' row after one event of the aggregate's stream (kept when deleted)."""
    at = recorded.recorded_at
    match recorded.event:
        case ev.AggregateCreated() as e:
            return set_fields(e, exclude={"aggregate_id"}) | {
                "id": str(e.aggregate_id),
                "hosts": [],
                "metadata": {},
                "created_at": at,
                "updated_at": None,
                "deleted": False,
            }
        case _ if row is None:
            return None
        case ev.AggregateUpdated() as e:
            return row | set_fields(e, exclude={"aggregate_id"}) | {"updated_at": at}
        case ev.AggregateMetadataSet(items=items):
            metadata = {k: v for k, v in (row["metadata"] | items).items() if v is not None}
            return row | {"metadata": metadata, "updated_at": at}
        case ev.AggregateHostAdded(host=host) if host not in row["hosts"]:
            return row | {"hosts": [*row["hosts"], host], "updated_at": at}
        case ev.AggregateHostRemoved(host=host):
            return row | {"hosts": [h for h in row["hosts"] if h != host], "updated_at": at}
        case ev.AggregateDeleted():
            return row | {"deleted": True, "updated_at": at}
    return row


def _lifetime(created: type[Event], deleted: type[Event], key: str) -> Evolve:
    """The fold of a row that only its creation (all its columns, the `key` field as
    `id`) and its deletion change."""

    def evolve(row: Row | None, recorded: RecordedEvent) -> Row | None:
        event = recorded.event
        if isinstance(event, created):
            fields = set_fields(event, exclude={key})
            return fields | {"id": getattr(event, key), "created_at": recorded.recorded_at}
        return None if isinstance(event, deleted) else row

    return evolve


keypair = _lifetime(ev.KeypairCreated, ev.KeypairDeleted, "keypair_id")
"""rm_keypairs' row (no private key: Kumo never keeps one)."""
server_group = _lifetime(ev.ServerGroupCreated, ev.ServerGroupDeleted, "group_id")
"""rm_server_groups' row (members: the servers naming the group)."""
