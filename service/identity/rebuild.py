"""How a rebuild gets identity's side without replaying it event by event where that is
slow: the login streams' marks on users' rows are one statement over the log, and the
rest is replayed in two passes by table group, so that each pass's statements come in
long runs of one kind (projections/pipeline.py sends a run in one round trip).

A pass replays every deletion too (a deletion clears all that hangs on the deleted
resource), which is harmless in the other pass: nothing is granted to, or recorded for,
a resource after its deletion. tests/integration/projections compare the result with
the rows the inline projection writes.
"""

from events.types import Event
from projections.bulk import Sides, Statements, Subset
from projections.projection import Projection
from service.identity import events as ev

_DELETIONS: tuple[type[Event], ...] = (
    ev.DomainDeleted, ev.ProjectDeleted, ev.UserDeleted, ev.GroupDeleted, ev.RoleDeleted,
    ev.RegionDeleted, ev.ServiceDeleted, ev.EndpointDeleted, ev.EndpointGroupDeleted,
)  # fmt: skip
_GRANTS: tuple[type[Event], ...] = (ev.RoleGranted, ev.RoleRevoked)
_RECORDS: tuple[type[Event], ...] = (
    ev.UserCreated, ev.UserPasswordChanged, ev.UserAddedToGroup, ev.UserRemovedFromGroup,
    ev.RoleImplied, ev.RoleImplicationRemoved, ev.ApplicationCredentialCreated,
    ev.ApplicationCredentialDeleted, ev.TokenRevoked, ev.EndpointGivenToProject,
    ev.EndpointTakenFromProject, ev.EndpointGroupGivenToProject, ev.EndpointGroupTakenFromProject,
    ev.AccessRuleDeleted,
)  # fmt: skip

LOGINS = Statements(
    "identity_logins",
    """
    UPDATE rm_users u
       SET last_active_at = coalesce(l.active_at, u.last_active_at),
           last_failed_auth_at = coalesce(l.failed_at, u.last_failed_auth_at),
           failed_auth_count = CASE WHEN l.last_position > coalesce(r.reset_position, 0)
                                    THEN l.last_count ELSE u.failed_auth_count END
      FROM (SELECT data->>'user_id' AS user_id, max(position) AS last_position,
                   (array_agg(recorded_at ORDER BY position DESC)
                      FILTER (WHERE type = 'AuthenticationSucceeded'))[1] AS active_at,
                   (array_agg(recorded_at ORDER BY position DESC)
                      FILTER (WHERE type = 'AuthenticationFailed'))[1] AS failed_at,
                   (array_agg(coalesce((data->>'failed_count')::int, 0)
                              ORDER BY position DESC))[1] AS last_count
              FROM events
             WHERE type IN ('AuthenticationSucceeded', 'AuthenticationFailed') AND {until}
             GROUP BY 1) l
      LEFT JOIN (SELECT stream_id, max(position) AS reset_position FROM events
                  WHERE type IN ('UserCreated', 'UserPasswordChanged') AND {until}
                  GROUP BY 1) r ON r.stream_id = 'user-' || l.user_id
     WHERE u.id = l.user_id
    """,
)
"""Each user's marks from its `login-` stream: its last success and failure times, and
the failure count of its last login unless its password was set since (which zeroed
it, as a success does)."""


def side(identity_side: Projection) -> Projection:
    """The side a rebuild of identity runs once the rows its streams own are written."""
    return Sides(
        "identity_side",
        LOGINS,
        Subset(identity_side, _RECORDS + _DELETIONS),
        Subset(identity_side, _GRANTS + _DELETIONS),
    )
