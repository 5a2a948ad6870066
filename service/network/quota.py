"""Network quotas: Neutron's default limits, a project's limits (the compute quota
stream's `QuotaLimitsSet`, under Neutron's resource names, in rm_quota_limits), and
usage counted exactly under concurrency.

Networks, subnets, ports, floating IPs and routers are counted in rm_network_usage by the
network projection, in the append's own transaction: adding to a project's usage row
locks it until commit, so of racing creates at the limit exactly the allowed ones get
in and the others fail their whole append with OverQuota (409, as Neutron answers).
Security groups and their rules are counted from their rows, inside the create's own
transaction (`enforce_held`): a create takes its project's security-group lock first, so
racing creates take turns from there to their commit and exactly the allowed ones get in.
"""

from typing import Any

from service.errors import Conflict

UNLIMITED = -1

DEFAULTS: dict[str, int] = {
    "network": 100,
    "subnet": 100,
    "subnetpool": -1,
    "port": 500,
    "router": 10,
    "floatingip": 50,
    "security_group": 10,
    "security_group_rule": 100,
    "rbac_policy": 10,
}
"""Neutron's defaults (neutron/conf/quota.py), for every project until an admin sets others."""

SECURITY_GROUP_LOCK = 4805
"""Advisory lock class of a project's security-group creates (with hashtext(project))."""

COUNTED = ("network", "subnet", "port", "floatingip", "router")
"""The resources whose usage the network projection keeps."""


class OverQuota(Conflict):
    """A create would take a project past a limit."""

    def __init__(self, resource: str) -> None:
        super().__init__(f"Quota exceeded for resources: ['{resource}'].")


async def limits(db: Any, project_id: str) -> dict[str, int]:
    """The project's network limits: Neutron's defaults, overridden by what an admin set."""
    rows = await db.fetch(
        "SELECT resource, hard_limit FROM rm_quota_limits"
        " WHERE project_id = $1 AND resource = ANY($2)",
        project_id,
        list(DEFAULTS),
    )
    return DEFAULTS | {r["resource"]: r["hard_limit"] for r in rows}


async def used(db: Any, project_id: str) -> dict[str, int]:
    """What the project holds of each resource."""
    return {name: await _held(db, project_id, name) for name in DEFAULTS}


async def _held(db: Any, project_id: str, resource: str) -> int:
    if resource == "security_group":
        query = "SELECT count(*) FROM rm_security_groups WHERE project_id = $1"
    elif resource == "security_group_rule":
        query = (
            "SELECT count(*) FROM rm_security_group_rules r JOIN rm_security_groups g"
            " ON g.id = r.group_id WHERE g.project_id = $1"
        )
    else:
        query = "SELECT coalesce(sum(used), 0) FROM rm_network_usage WHERE project_id = $1"
        held: int = await db.fetchval(f"{query} AND resource = $2", project_id, resource)
        return held
    counted: int = await db.fetchval(query, project_id)
    return counted


def adding(project_id: str, resource: str, amount: str) -> str:
    """The statement adding `amount` to what the project holds of `resource` (each an SQL
    expression, e.g. a parameter), returning `used` and `hard_limit` for `refuse_excess`.
    It locks the project's row until commit: make it a create's last statement, or the
    last part of one, so that the row stays locked only from there to the commit."""
    return (
        f"INSERT INTO rm_network_usage VALUES ({project_id}, {resource}, {amount})"
        " ON CONFLICT (project_id, resource) DO UPDATE SET used = rm_network_usage.used +"
        f" {amount} RETURNING used, (SELECT hard_limit FROM rm_quota_limits WHERE project_id"
        f" = {project_id} AND resource = {resource}) AS hard_limit"
    )


def refuse_excess(row: Any, resource: str, amount: int) -> None:
    """OverQuota if `adding`'s result took the project past its limit."""
    limit = DEFAULTS[resource] if row["hard_limit"] is None else row["hard_limit"]
    if amount > 0 and limit != UNLIMITED and row["used"] > limit:
        raise OverQuota(resource)


async def add(conn: Any, project_id: str, resource: str, amount: int) -> None:
    """Add `amount` to what the project holds (locking its row until commit); raises
    OverQuota if that takes it past its limit."""
    row = await conn.fetchrow(adding("$1", "$2", "$3"), project_id, resource, amount)
    refuse_excess(row, resource, amount)


async def check(db: Any, project_id: str, resource: str, amount: int = 1) -> None:
    """Refuse early (OverQuota) a create that would not fit now."""
    limit = (await limits(db, project_id))[resource]
    if limit != UNLIMITED and await _held(db, project_id, resource) + amount > limit:
        raise OverQuota(resource)


async def enforce_held(conn: Any, project_id: str, resource: str) -> None:
    """In a transaction that creates a security group or rule of `project_id`: wait for the
    project's other such creates to commit, then raise OverQuota if the project now holds
    more of `resource` (its new row included) than its limit."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext($2))", SECURITY_GROUP_LOCK, project_id
    )
    limit = (await limits(conn, project_id))[resource]
    if limit != UNLIMITED and await _held(conn, project_id, resource) > limit:
        raise OverQuota(resource)
