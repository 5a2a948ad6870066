"""A connection for replays that sends runs of one statement in a single round trip.

A rebuild applies events one after another, and most of its statements are writes
whose result nobody reads: the same upsert for every event of a model, say. Waiting
for each of them costs a round trip per event. `Pipelined` holds consecutive
`execute` calls of one statement (with different arguments) and sends them together
with `executemany`; any other call (another statement, a read, anything at all) first
sends what is held, so the server sees every statement in the order it was made.
Errors surface at that later send, inside the same transaction, which then fails as
a whole — the same outcome for a rebuild or a replay.
"""

from collections.abc import Awaitable, Callable
from typing import Any


class Pipelined:
    """Wraps a connection inside a transaction; `execute` returns "" for a held statement."""

    def __init__(self, conn: Any, limit: int = 1000) -> None:
        self._conn = conn
        self._limit = limit
        self._query: str | None = None
        self._held: list[tuple[Any, ...]] = []

    async def execute(self, query: str, *args: Any) -> str:
        if query != self._query or not args:
            await self.flush()
        if not args:
            status: str = await self._conn.execute(query)
            return status
        self._query = query
        self._held.append(args)
        if len(self._held) >= self._limit:
            await self.flush()
        return ""

    async def flush(self) -> None:
        """Send what is held."""
        if self._held:
            query, held = self._query, self._held
            self._query, self._held = None, []
            await self._conn.executemany(query, held)

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        method = getattr(self._conn, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            await self.flush()
            return await method(*args, **kwargs)

        return call
