"""What a rebuild of the compute model folds besides the rows of service/compute/fold.py:
a server's instance actions, a security group and its rules (all owned by one stream
each), and the quota usage, a sum over the log. Each gives the rows the inline
projection (service/compute/projection.py) writes event by event; tests/integration/
projections compare them after real activity.
"""

from collections.abc import Iterable
from typing import Any

from events.types import RecordedEvent
from projections.bulk import FoldedTable, Statements
from projections.rows import Row, set_fields
from service.compute import events as ev

_STARTS: dict[type, str] = {
    ev.ServerCreateRequested: "create",
    ev.ServerDeleteRequested: "delete",
}
_FINISHES: dict[type, tuple[str, str]] = {
    ev.ServerActive: ("create", "Success"),
    ev.ServerFailed: ("create", "Error"),
    ev.ServerDeleted: ("delete", "Success"),
}


def _action_row(state: Row, recorded: RecordedEvent, action: str) -> Row:
    """A started action: the request that caused it, in the server's project."""
    return {
        "server_id": recorded.stream_id.removeprefix("server-"),
        "request_id": recorded.metadata.request_id or f"req-{recorded.event_id}",
        "action": action,
        "project_id": state["project_id"],
        "user_id": recorded.metadata.actor.user_id,
        "start_time": recorded.recorded_at,
        "finish_time": None,
        "message": None,
        "result": None,
        "position": recorded.position,
    }


def _start(state: Row, recorded: RecordedEvent, action: str) -> None:
    row = _action_row(state, recorded, action)
    state["actions"].setdefault((row["request_id"], action), row)  # a repeat changes nothing


def _finish(
    state: Row, recorded: RecordedEvent, action: str, result: str, message: str | None = None
) -> None:
    """Close the latest open action of that kind."""
    open_ = [
        r for r in state["actions"].values() if r["action"] == action and r["finish_time"] is None
    ]
    if open_:
        latest = max(open_, key=lambda r: r["position"])
        latest |= {"finish_time": recorded.recorded_at, "result": result, "message": message}


def instance_actions(state: Row | None, recorded: RecordedEvent) -> Row:
    """A server's actions (by request and action) after one event of its stream, with
    the project its row names (its latest creation's)."""
    state = state or {"project_id": None, "actions": {}}
    event = recorded.event
    if isinstance(event, ev.ServerCreateRequested):
        state["project_id"] = event.project_id
    match event:
        case ev.ServerCreateRequested() | ev.ServerDeleteRequested():
            _start(state, recorded, _STARTS[type(event)])
        case ev.ServerActive() | ev.ServerDeleted():
            _finish(state, recorded, *_FINISHES[type(event)])
        case ev.ServerFailed(message=message):
            _finish(state, recorded, "create", "Error", message)
        case ev.ServerActionRequested(action=action):
            _start(state, recorded, action)
        case ev.ServerActionSucceeded(action=action):
            _finish(state, recorded, action, "Success")
        case ev.ServerActionFailed(action=action, message=message):
            _finish(state, recorded, action, "Error", message)
        case ev.ServerLocked() | ev.ServerUnlocked():
            action = "lock" if isinstance(event, ev.ServerLocked) else "unlock"
            _start(state, recorded, action)
            _finish(state, recorded, action, "Success")
    return state


def _actions_of(state: Row) -> Iterable[Row]:
    actions: dict[Any, Row] = state["actions"]
    return actions.values()


def security_group(row: Row | None, recorded: RecordedEvent) -> Row | None:
    """rm_security_groups' row of a `secgroup-` stream."""
    match recorded.event:
        case ev.SecurityGroupCreated() as e:
            return {
                "id": e.group_id,
                "project_id": e.project_id,
                "name": e.name,
                "description": e.description,
                "created_at": recorded.recorded_at,
            }
        case ev.SecurityGroupUpdated() as e if row is not None:
            return row | set_fields(e, exclude={"group_id"})
        case ev.SecurityGroupDeleted():
            return None
    return row


def security_group_rules(rules: Row | None, recorded: RecordedEvent) -> Row:
    """The rules of a `secgroup-` stream's group, by id."""
    rules = rules or {}
    match recorded.event:
        case ev.SecurityGroupRuleAdded() as e:
            rules[e.rule_id] = {"id": e.rule_id} | set_fields(e, exclude={"rule_id"})
        case ev.SecurityGroupRuleRemoved(rule_id=rule_id):
            rules.pop(rule_id, None)
        case ev.SecurityGroupDeleted():
            rules.clear()
    return rules


def _rules_of(rules: Row) -> Iterable[Row]:
    return rules.values()


FOLDS = (
    FoldedTable("rm_instance_actions", instance_actions, frozenset({"server"}), (), _actions_of),
    FoldedTable("rm_security_groups", security_group, frozenset({"secgroup"})),
    FoldedTable("rm_security_group_rules", security_group_rules, frozenset({"secgroup"}), (),
                _rules_of),
)  # fmt: skip
"""Folded for a rebuild only: the inline projection keeps these rows with SQL of its own."""

QUOTA_USAGE = Statements(
    "quota_usage",
    """
    INSERT INTO rm_quota_usage (project_id, instances, cores, ram)
    SELECT data->>'project_id', sum(sign * (data->>'instances')::int),
           sum(sign * (data->>'cores')::int), sum(sign * (data->>'ram')::int)
      FROM (SELECT data, CASE type WHEN 'ResourcesClaimed' THEN 1 ELSE -1 END AS sign
              FROM events WHERE type IN ('ResourcesClaimed', 'ResourcesReleased') AND {until}) e
     GROUP BY 1
    """,
)
"""A project's usage: what its claims took less what its releases gave back."""
SIDE_TYPES = (
    ev.FlavorDeleted, ev.FlavorAccessAdded, ev.FlavorAccessRemoved, ev.QuotaLimitsSet,
    ev.QuotaLimitsDeleted, ev.QuotaClassLimitsSet, ev.HostRegistered, ev.HostStatusChanged,
)  # fmt: skip
"""The events a rebuild still replays one by one (few: an admin's)."""
