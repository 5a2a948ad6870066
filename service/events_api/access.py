"""Who may read which resource's events.

The rule, one for history, time travel, the live stream and the audit log:

- admins read everything;
- identity resources (users, projects, domains, groups, roles, the catalog,
  application credentials, credentials, policies, trusts, logins, token revocations) are
  admin-only, except that a user may read the stream of its own user, and a member
  that of the project it is scoped to;
- any other resource belongs to the project its stream's first event names: that
  event's `project_id` field, else its `owner` field (images), else the project of
  the actor who caused it (a keypair: the project its user was acting in; a flavor:
  the admin's); members of that project read it, nobody else does.

A resource a caller may not read is reported as not found, as if it did not exist.
"""

from collections import OrderedDict
from collections.abc import Sequence

from events.postgres import PostgresEventStore, first_events
from events.types import RecordedEvent
from service.auth import AuthContext
from service.events_api.envelope import resource_of

IDENTITY_TYPES = frozenset(
    {
        "domain", "project", "user", "group", "role", "region", "service", "endpoint",
        "endpoint_group", "appcred", "credential", "policy", "trust", "login", "token",
        "consumer", "request_token", "access_token",
    }
)  # fmt: skip


def owner_project(first: RecordedEvent) -> str | None:
    """The project a stream belongs to, from its first event (see the module's rule)."""
    for field in ("project_id", "owner"):
        value = getattr(first.event, field, None)
        if isinstance(value, str) and value:
            return value
    return first.metadata.actor.project_id


def may_read(auth: AuthContext, stream_id: str, owner: str | None) -> bool:
    """Whether `auth` may read the stream whose owner project is `owner`."""
    if auth.is_admin:
        return True
    category, resource_id = resource_of(stream_id)
    if category in IDENTITY_TYPES:
        own = {"user": auth.user_id, "project": auth.project_id}
        return resource_id == own.get(category)
    return owner is not None and owner == auth.project_id


class Owners:
    """The owner projects of streams, looked up once each and kept (up to `size`)."""

    def __init__(self, store: PostgresEventStore, size: int = 10_000) -> None:
        self._store = store
        self._size = size
        self._known: OrderedDict[str, str | None] = OrderedDict()

    async def of(self, recorded: RecordedEvent) -> str | None:
        """The owner project of `recorded`'s stream; reads its first event if need be."""
        stream_id = recorded.stream_id
        if stream_id in self._known:
            self._known.move_to_end(stream_id)
            return self._known[stream_id]
        if recorded.version == 1:
            return self._remember(recorded)
        [first] = await self._store.read_stream(stream_id, 1, limit=1)
        return self._remember(first)

    async def learn(self, batch: Sequence[RecordedEvent]) -> None:
        """Know the owners of the streams of `batch` (in one read for those whose first
        event it does not hold), so that `of` answers them without reading."""
        unknown: dict[str, RecordedEvent] = {}
        for recorded in batch:
            if recorded.stream_id not in self._known:
                unknown.setdefault(recorded.stream_id, recorded)
        firsts = [e for e in unknown.values() if e.version == 1]
        later = [s for s, e in unknown.items() if e.version != 1]
        if later:
            firsts += await first_events(self._store.pool, later)
        for first in firsts:
            self._remember(first)

    def _remember(self, first: RecordedEvent) -> str | None:
        owner = self._known[first.stream_id] = owner_project(first)
        if len(self._known) > self._size:
            self._known.popitem(last=False)
        return owner
