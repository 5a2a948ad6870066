"""Token revocations in force, held in memory and checked on every validation.

Loaded from rm_token_revocations at start; the process that appends a revoking event
applies it at once, and every process follows the log for the others' (see
`REVOKING_TYPES`), so a revocation holds everywhere within milliseconds.
"""

from collections.abc import Iterable
from datetime import datetime

from events.postgres import Pool
from events.types import RecordedEvent
from service.identity import events as ev

REVOKING_TYPES = (ev.TokenRevoked.type_name(), ev.UserPasswordChanged.type_name())
"""Deleting or disabling a user, project or role assignment needs no revocation record:
validation finds the user, the scope and the roles as they are now."""


class Revocations:
    """Revoked audit ids, and per user the time before which every token is revoked."""

    def __init__(self) -> None:
        self._audit_ids: set[str] = set()
        self._users: dict[str, datetime] = {}

    async def load(self, pool: Pool) -> None:
        """Read every revocation recorded so far."""
        for row in await pool.fetch("SELECT kind, key, revoked_at FROM rm_token_revocations"):
            if row["kind"] == "audit":
                self._audit_ids.add(row["key"])
            else:
                self._revoke_user(row["key"], row["revoked_at"])

    def apply(self, events: Iterable[RecordedEvent]) -> None:
        """Take in revoking events (others are ignored); applying one twice is harmless."""
        for recorded in events:
            match recorded.event:
                case ev.TokenRevoked(audit_id=audit_id):
                    self._audit_ids.add(audit_id)
                case ev.UserPasswordChanged(user_id=user_id):
                    self._revoke_user(user_id, recorded.recorded_at)

    def revoked(self, user_id: str, audit_ids: Iterable[str], issued_at: datetime) -> bool:
        """Whether a token with these attributes has been revoked."""
        before = self._users.get(user_id)
        if before is not None and issued_at <= before:
            return True
        return any(a in self._audit_ids for a in audit_ids)

    @staticmethod
    async def revoked_now(
        pool: Pool, user_id: str, audit_ids: Iterable[str], issued_at: datetime
    ) -> bool:
        """`revoked` as rm_token_revocations (written with the revoking events) has it
        now, whichever process appended them; one query."""
        return bool(
            await pool.fetchval(
                "SELECT EXISTS (SELECT FROM rm_token_revocations WHERE"
                " (kind = 'audit' AND key = ANY($1::text[]))"
                " OR (kind = 'user' AND key = $2 AND revoked_at >= $3))",
                list(audit_ids),
                user_id,
                issued_at,
            )
        )

    def _revoke_user(self, user_id: str, at: datetime) -> None:
        current = self._users.get(user_id)
        self._users[user_id] = at if current is None else max(current, at)
