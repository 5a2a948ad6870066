"""Notifications of commits name the types of the events committed, so that a follower
filtered by type is woken only by appends it may care about."""

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import pytest

from events.postgres import NOTIFY_CHANNEL, Notifier, PostgresEventStore, notified
from tests.sample_events import Noted, Renamed


class Heard:
    """The payloads of the notifications one listening connection receives."""

    def __init__(self) -> None:
        self.payloads: list[str] = []
        self.changed = asyncio.Event()

    def __call__(self, conn: Any, pid: int, channel: str, payload: object) -> None:
        self.payloads.append(str(payload))
        self.changed.set()

    async def until(self, done: Callable[[list[str]], bool]) -> None:
        async with asyncio.timeout(10):
            while not done(self.payloads):
                self.changed.clear()
                await self.changed.wait()


@pytest.fixture
async def heard(database_url: str) -> AsyncIterator[Heard]:
    conn = await asyncpg.connect(database_url)
    heard = Heard()
    await conn.add_listener(NOTIFY_CHANNEL, heard)
    yield heard
    await conn.close()


async def test_every_appended_type_is_named_by_a_notification_at_or_past_it(
    store: PostgresEventStore, heard: Heard
) -> None:
    noted = await store.append("note-1", [Noted(n=1)])
    renamed = await store.append("note-2", [Renamed(name="x"), Noted(n=2)])

    def told(payloads: list[str]) -> bool:
        news = [notified(p) for p in payloads]
        return all(
            any(position >= at and types is not None and name in types for position, types in news)
            for name, at in (
                ("Noted", noted.last_position),
                ("Renamed", renamed.last_position),
            )
        )

    await heard.until(told)


async def test_types_committed_during_a_notification_go_in_the_next_even_below_it(
    pool: asyncpg.Pool, heard: Heard
) -> None:
    notifier = Notifier(pool)
    notifier.committed(10, {"Noted"}, {"note-1"})
    await asyncio.sleep(0)  # its notification is on its way
    notifier.committed(9, {"Renamed"}, {"note-2"})  # an append that committed after a later one

    await heard.until(lambda payloads: len(payloads) == 2)

    assert heard.payloads == ["10 Noted", "10 Renamed"]
