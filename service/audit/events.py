"""The audit event: what one audited API call was, who made it, on what, and how it ended.

Streams: `audit-<request id>` (the id is `req-<uuid>`): one stream per request, so that
no request's audit append ever waits for another's (appends to one stream queue until
the earlier one commits). Grouping by project and day is what the read model's indexes
are for. The record is rendered as a CADF event by service/audit/cadf.py.
"""

from typing import Final

import msgspec

from events.types import Event

AUTHENTICATE: Final = "authenticate"
ACTIONS: Final = frozenset({"create", "read", "update", "delete", AUTHENTICATE})
"""The CADF actions a record may carry, each optionally qualified by what the API called
it (`update/reboot`: CADF's taxonomy extends an action with `/<name>`)."""
DENIED: Final = "denied"
VERDICTS: Final = frozenset({"success", "pending", "failure", "unknown", DENIED})
"""How records are sorted for searching: their CADF outcome, or `denied` (cadf.py)."""


class Initiator(msgspec.Struct, frozen=True, omit_defaults=True):
    """Who made the call: the token's user, project and roles, or, for an authentication,
    the user it claimed to be (by id, or by the name it gave). Never a password."""

    user_id: str | None = None
    user_name: str | None = None
    project_id: str | None = None
    domain_id: str | None = None
    roles: tuple[str, ...] = ()
    address: str | None = None
    agent: str | None = None


class Target(msgspec.Struct, frozen=True, omit_defaults=True):
    """What the call acted on: a resource type (a stream category, e.g. `server`) and
    its id when known, and the project that owns it when the request named it."""

    type: str
    id: str | None = None
    project_id: str | None = None


class AuditRecorded(Event, frozen=True):
    """One audited API call: its CADF `action` (create, update, delete, authenticate,
    read), its `outcome` (success, failure, pending) with the HTTP `status` as reason,
    the API that observed it, and the request's method and path (never its query)."""

    action: str
    outcome: str
    status: int
    observer: str
    method: str
    path: str
    initiator: Initiator
    target: Target

    @property
    def project_id(self) -> str | None:
        """The project the record belongs to, for the events API's access rule."""
        return self.initiator.project_id or self.target.project_id
