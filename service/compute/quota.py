"""Compute quotas: Nova's default limits, a project's limits, and claiming resources for a
server exactly under concurrency.

A claim is a `ResourcesClaimed` on the project's `quota-<project id>` stream, appended
with the servers it is for. The usage read model enforces the limits in the append's own
transaction (service/compute/projection.py): adding to the project's usage row locks it
until commit, so racing claims take turns and the one that would pass a limit fails,
rolling its whole append back. However many requests race, exactly the allowed ones
get in, with no retries. `claim` also checks first, to refuse early.
"""

from collections.abc import Sequence
from typing import Any

from events.postgres import PostgresEventStore
from events.store import StreamAppend
from service.compute import events as ev
from service.errors import Forbidden

UNLIMITED = -1

DEFAULTS: dict[str, int] = {
    "instances": 10,
    "cores": 20,
    "ram": 51200,
    "floating_ips": 10,
    "fixed_ips": UNLIMITED,
    "metadata_items": 128,
    "injected_files": 5,
    "injected_file_content_bytes": 10240,
    "injected_file_path_bytes": 255,
    "key_pairs": 100,
    "security_groups": 10,
    "security_group_rules": 20,
    "server_groups": 10,
    "server_group_members": 10,
}
"""Nova's defaults (nova/conf/quota.py), for every project until an admin sets others."""


class OverQuota(Forbidden):
    """A request would take a project over its limits (Nova's 403)."""


def stream(project_id: str) -> str:
    return f"quota-{project_id}"


DEFAULT_CLASS = "default"
"""The quota class whose limits are every project's defaults (Nova's)."""

SET_LIMITS = (
    "(SELECT array_agg(resource ORDER BY resource) FROM rm_quota_limits WHERE project_id = $1)"
    " AS resources, (SELECT array_agg(hard_limit ORDER BY resource) FROM rm_quota_limits"
    " WHERE project_id = $1) AS hard_limits, "
    "(SELECT array_agg(resource ORDER BY resource) FROM rm_quota_class_limits"
    f" WHERE quota_class = '{DEFAULT_CLASS}') AS class_resources,"
    " (SELECT array_agg(hard_limit ORDER BY resource) FROM rm_quota_class_limits"
    f" WHERE quota_class = '{DEFAULT_CLASS}') AS class_limits"
)
"""SQL columns `resources` and `hard_limits`: the limits an admin set for the project `$1`,
and `class_resources` and `class_limits`: those of the default quota class
(`with_defaults` makes them its limits), for a query that reads them with other things."""


def _set(resources: Any, hard_limits: Any) -> dict[str, int]:
    # rm_quota_limits also holds the network service's limits (service/network/quota.py)
    pairs = zip(resources or (), hard_limits or (), strict=True)
    return {resource: limit for resource, limit in pairs if resource in DEFAULTS}


def with_defaults(row: Any) -> dict[str, int]:
    """The limits of a project from a row with `SET_LIMITS`: Nova's defaults, overridden
    by the default quota class's, overridden by what an admin set for the project."""
    defaults = DEFAULTS | _set(row["class_resources"], row["class_limits"])
    return defaults | _set(row["resources"], row["hard_limits"])


async def limits(db: Any, project_id: str) -> dict[str, int]:
    """The project's limits: the defaults, overridden by what an admin set."""
    return with_defaults(await db.fetchrow(f"SELECT {SET_LIMITS}", project_id))


async def class_limits(db: Any, quota_class: str) -> dict[str, int]:
    """A quota class's limits: Nova's defaults, overridden by what an admin set."""
    rows = await db.fetch(
        "SELECT resource, hard_limit FROM rm_quota_class_limits WHERE quota_class = $1",
        quota_class,
    )
    return DEFAULTS | _set([r["resource"] for r in rows], [r["hard_limit"] for r in rows])


def exceeded(
    limit: dict[str, int], used: dict[str, int], requested: dict[str, int]
) -> OverQuota | None:
    """The error for the resources `requested` would take past their limits, in Nova's
    words, or None when they fit."""
    overs = sorted(
        name
        for name, want in requested.items()
        if want > 0 and limit[name] != UNLIMITED and used[name] + want > limit[name]
    )
    if not overs:
        return None

    def each(values: dict[str, int]) -> str:
        return ", ".join(str(values[name]) for name in overs)

    names = ", ".join(overs)
    return OverQuota(
        f"Quota exceeded for {names}: Requested {each(requested)}, but already used "
        f"{each(used)} of {each(limit)} {names}"
    )


async def claim(
    store: PostgresEventStore, project_id: str, server_ids: str | Sequence[str], instances: int,
    cores: int, ram: int,
) -> StreamAppend:  # fmt: skip
    """The append that takes the share of the project's quota of one server, or of the
    servers of one request (`instances`, `cores` and `ram` are their totals, shared out
    evenly: one `ResourcesClaimed` each). Append it with the servers' events. Raises
    OverQuota (403) when they do not fit now; the append raises it if they no longer do."""
    ids = [server_ids] if isinstance(server_ids, str) else list(server_ids)
    row = await store.pool.fetchrow(
        "SELECT coalesce(u.instances, 0) AS instances, coalesce(u.cores, 0) AS cores,"
        f" coalesce(u.ram, 0) AS ram, l.* FROM (SELECT {SET_LIMITS}) AS l"
        " LEFT JOIN rm_quota_usage u ON u.project_id = $1",
        project_id,
    )
    assert row is not None  # aggregates: always one row
    limit = with_defaults(row)
    used = {"instances": row["instances"], "cores": row["cores"], "ram": row["ram"]}
    requested = {"instances": instances, "cores": cores, "ram": ram}
    error = exceeded(limit, used, requested)
    if error is not None:
        raise error
    claimed = [
        ev.ResourcesClaimed(
            project_id=project_id,
            server_id=server_id,
            instances=instances // len(ids),
            cores=cores // len(ids),
            ram=ram // len(ids),
        )
        for server_id in ids
    ]
    return StreamAppend(stream(project_id), claimed)


def enforce(claimed: ev.ResourcesClaimed, after: dict[str, int], limit: dict[str, int]) -> None:
    """Raise OverQuota if a claim just added to the project's usage (now `after`, its row
    locked by this transaction) went past the project's `limit`."""
    requested = {"instances": claimed.instances, "cores": claimed.cores, "ram": claimed.ram}
    before = {name: after[name] - want for name, want in requested.items()}
    error = exceeded(limit, before, requested)
    if error is not None:
        raise error
