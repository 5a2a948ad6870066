"""A server as it was: its events folded into compute's Server row, rendered by Nova's view.

The fold follows service/compute/projection.py event for event, without a database:
tests check that folding a whole stream gives the live rm_servers row's document.
"""

from collections.abc import Sequence
from typing import Any

import msgspec

from events.types import RecordedEvent
from projections.rows import set_fields
from service.compute import events as ev
from service.compute.api.microversion import MIN
from service.compute.directory import Server
from service.compute.server_view import detail
from service.events_api.envelope import Json

State = dict[str, Any]

_ACTION_CHANGES = {"image_id", "flavor", "previous_flavor", "name", "host", "node"}


def created(recorded: RecordedEvent, e: ev.ServerCreateRequested) -> State:
    """The row a ServerCreateRequested makes: building, scheduling, unplaced."""
    at = recorded.recorded_at
    return {
        "id": e.server_id, "project_id": e.project_id, "user_id": e.user_id, "name": e.name,
        "vm_state": "building", "task_state": "scheduling", "power_state": 0,
        "flavor": msgspec.to_builtins(e.flavor), "image_id": e.image_id,
        "key_name": e.key_name, "metadata": dict(e.metadata),
        "availability_zone": e.availability_zone, "host": None, "node": None,
        "config_drive": e.config_drive, "reservation_id": e.reservation_id,
        "launch_index": e.launch_index, "security_groups": list(e.security_groups),
        "server_group_id": e.server_group_id, "tags": list(e.tags),
        "description": e.description, "access_ipv4": e.access_ipv4,
        "access_ipv6": e.access_ipv6, "hostname": e.hostname, "locked": False,
        "locked_by": None, "locked_reason": None, "fault": None, "previous_flavor": None,
        "created_at": at, "updated_at": at, "launched_at": None, "terminated_at": None,
        "deleted": False, "version": recorded.version,
    }  # fmt: skip


def changed(state: State, recorded: RecordedEvent) -> State:
    """The row after one later event of the server's stream (unknown types: unchanged)."""
    at = recorded.recorded_at
    changes: State = {"updated_at": at, "version": recorded.version}
    match recorded.event:
        case ev.ServerScheduled(host=host, node=node):
            changes |= {"host": host, "node": node, "task_state": "spawning"}
        case ev.ServerActive(host=host, launched_at=launched_at):
            changes |= {"host": host, "vm_state": "active", "task_state": None,
                        "power_state": 1, "launched_at": launched_at}  # fmt: skip
        case ev.ServerFailed(message=message, code=code, details=details):
            fault = {"code": code, "message": message, "details": details,
                     "created": at.isoformat()}  # fmt: skip
            changes |= {"vm_state": "error", "task_state": None, "fault": fault}
        case ev.ServerUpdated() as e:
            changes |= set_fields(e, exclude={"server_id"})
        case ev.ServerDeleteRequested():
            changes["task_state"] = "deleting"
        case ev.ServerDeleted():
            changes |= {"deleted": True, "vm_state": "deleted", "task_state": None,
                        "power_state": 0, "terminated_at": at}  # fmt: skip
        case ev.ServerActionRequested(action=action, task_state=task_state, params=params):
            changes["task_state"] = task_state
            if action == "rebuild":
                changes |= {k: v for k, v in params.items() if k in ("image_id", "name")}
                if "metadata" in params:
                    changes["metadata"] = params["metadata"]
        case ev.ServerActionSucceeded(vm_state=vm_state, power_state=power) as e:
            changes |= {"vm_state": vm_state, "power_state": power, "task_state": None}
            changes |= {k: v for k, v in e.changes.items() if k in _ACTION_CHANGES}
        case ev.ServerActionFailed():
            changes["task_state"] = None
        case ev.ServerPowerObserved(vm_state=vm_state, power_state=power):
            changes |= {"vm_state": vm_state, "power_state": power}
        case ev.ServerLocked(locked_by=by, reason=reason):
            changes |= {"locked": True, "locked_by": by, "locked_reason": reason}
        case ev.ServerUnlocked():
            changes |= {"locked": False, "locked_by": None, "locked_reason": None}
        case ev.ServerMetadataSet(items=items, replace=replace):
            changes["metadata"] = ({} if replace else state["metadata"]) | items
        case ev.ServerMetadataItemDeleted(key=key):
            changes["metadata"] = {k: v for k, v in state["metadata"].items() if k != key}
        case ev.ServerTagsSet(tags=tags):
            changes["tags"] = list(tags)
        case ev.ServerSecurityGroupAdded(name=name) if name not in state["security_groups"]:
            changes["security_groups"] = [*state["security_groups"], name]
        case ev.ServerSecurityGroupRemoved(name=name):
            changes["security_groups"] = [g for g in state["security_groups"] if g != name]
    return state | changes


def fold(events: Sequence[RecordedEvent]) -> Server | None:
    """The server after `events` (its stream's leading events, in version order); None
    when they do not start with its creation or end with it deleted."""
    if not events or not isinstance(events[0].event, ev.ServerCreateRequested):
        return None
    state = created(events[0], events[0].event)
    for recorded in events[1:]:
        state = changed(state, recorded)
    server = msgspec.convert(state, Server)
    return None if server.deleted else server


def render(events: Sequence[RecordedEvent], base_url: str) -> Json | None:
    """`{"server": ...}` as Nova's GET /servers/{id} shows it at microversion 2.1 to a
    non-admin, or None if the server did not exist after `events`."""
    server = fold(events)
    return None if server is None else {"server": detail(server, base_url, MIN, admin=False)}
