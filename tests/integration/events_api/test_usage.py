"""GET /events/v1/usage: a project's usage over a period, counted from events recorded at
known times, checked to the exact figure."""

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from msgspec.structs import replace

from events.postgres import PostgresEventStore
from events.types import Actor, Event, Metadata
from projections.inline import InlineProjections
from service.compute import events as ev
from service.compute.events import FlavorSnapshot
from service.events_api.envelope import rfc3339
from service.image import events as image_ev
from service.objects import events as object_ev
from service.read_models import catalog
from tests.integration.events_api.conftest import Reader, created
from tests.integration.identity.conftest import Client, Person

T0 = datetime(2026, 3, 1, tzinfo=UTC)
GIB = 2**30
FLAVOR = FlavorSnapshot(id="2", name="m1.small", vcpus=2, ram=2048, disk=10)


class SetClock:
    """A clock that says what the test set."""

    def __init__(self) -> None:
        self.at = T0

    def now(self) -> datetime:
        return self.at


class Log:
    """Appends as a person, each at a chosen number of hours after T0."""

    def __init__(self, store: PostgresEventStore) -> None:
        self.clock = SetClock()
        inline = InlineProjections([m.projection for m in catalog().values() if m.inline])
        self.store = PostgresEventStore(store.pool, clock=self.clock, inline=inline)

    async def at(self, hours: float, person: Person, stream_id: str, *events: Event) -> None:
        self.clock.at = T0 + timedelta(hours=hours)
        actor = Actor(user_id=person.user_id, project_id=person.project_id, roles=("member",))
        await self.store.append(stream_id, events, metadata=Metadata(actor=actor))


async def a_day_of_alice(log: Log, alice: Person, bob: Person) -> None:
    """A server that runs 2 h, stops 1 h, runs 2 h more and is deleted at 6 h; an image of
    2 GiB active from 1 h to 5 h; an object of 1 GiB from 2 h, 3 GiB from 3 h, gone at
    4 h. Bob's server runs all along."""
    s1 = "server-s1"
    await log.at(0, alice, s1, replace(created(alice, "s1"), flavor=FLAVOR))
    await log.at(0, bob, "server-b1", replace(created(bob, "b1"), flavor=FLAVOR))
    await log.at(0.5, bob, "server-b1", ev.ServerActive(server_id="b1", host="h", launched_at=T0))
    await log.at(1, alice, s1, ev.ServerActive(server_id="s1", host="h", launched_at=T0))
    stop = ev.ServerActionSucceeded(
        server_id="s1", action="stop", vm_state="stopped", power_state=4
    )
    await log.at(3, alice, s1, stop)
    start = ev.ServerActionSucceeded(
        server_id="s1", action="start", vm_state="active", power_state=1
    )
    await log.at(4, alice, s1, start)
    await log.at(
        6, alice, s1, ev.ServerDeleteRequested(server_id="s1"), ev.ServerDeleted(server_id="s1")
    )

    i1 = "image-i1"
    await log.at(
        0, alice, i1, image_ev.ImageCreated(image_id="i1", owner=alice.project_id, name="disk")
    )
    activated = image_ev.ImageActivated(
        image_id="i1",
        location="k",
        size=2 * GIB,
        checksum="c",
        os_hash_algo="sha512",
        os_hash_value="v",
    )
    await log.at(1, alice, i1, activated)
    await log.at(5, alice, i1, image_ev.ImageDeleted(image_id="i1", location="k"))

    project = alice.project_id
    await log.at(
        0, alice, "container-c1", object_ev.ContainerCreated(project_id=project, container="box")
    )

    def stored(size: int, version: str) -> object_ev.ObjectStored:
        return object_ev.ObjectStored(
            project_id=project,
            container="box",
            object="o",
            version_id=version,
            size=size,
            etag="e",
            content_type="application/octet-stream",
        )

    await log.at(2, alice, "object-o1", stored(GIB, "v1"))
    await log.at(3, alice, "object-o1", stored(3 * GIB, "v2"))
    deleted = object_ev.ObjectDeleted(
        project_id=project, container="box", object="o", version_id="v2"
    )
    await log.at(4, alice, "object-o1", deleted)


async def usage(reader: Reader, project: str, start: float, end: float) -> tuple[int, Any]:
    since, until = (quote(rfc3339(T0 + timedelta(hours=h))) for h in (start, end))
    return await reader.get(f"usage?project={project}&from={since}&to={until}")


async def test_usage_over_a_whole_day_is_exact(
    client: Client, store: PostgresEventStore, alice: Person, bob: Person
) -> None:
    await a_day_of_alice(Log(store), alice, bob)

    status, body = await usage(Reader(client, alice.token), alice.project_id, 0, 24)

    assert status == 200, body
    got = body["usage"]
    assert (got["project_id"], got["from"], got["to"]) == (
        alice.project_id,
        "2026-03-01T00:00:00.000000Z",
        "2026-03-02T00:00:00.000000Z",
    )
    # Hosted 1-6 h (5 h, the stopped hour included); running 1-3 h and 4-6 h (4 h).
    assert got["servers"] == [
        {
            "id": "s1",
            "name": "s1",
            "flavor_id": "2",
            "instance_hours": 5.0,
            "vcpu_hours": 8.0,
            "ram_gb_hours": 8.0,
            "disk_gb_hours": 50.0,
        }
    ]
    assert got["images"] == [{"id": "i1", "name": "disk", "gb_hours": 8.0}]
    assert got["containers"] == [{"name": "box", "gb_hours": 4.0}]
    assert got["totals"] == {
        "instance_hours": 5.0,
        "vcpu_hours": 8.0,
        "ram_gb_hours": 8.0,
        "disk_gb_hours": 50.0,
        "image_gb_hours": 8.0,
        "object_gb_hours": 4.0,
    }


async def test_a_period_counts_only_its_overlap(
    client: Client, store: PostgresEventStore, alice: Person, bob: Person, admin_token: str
) -> None:
    await a_day_of_alice(Log(store), alice, bob)

    # 2.5 h to 4.5 h: running 0.5 h, stopped 1 h, running 0.5 h; the object 1 GiB 0.5 h
    # then 3 GiB 1 h; the image 2 GiB all 2 h.
    status, body = await usage(Reader(client, admin_token), alice.project_id, 2.5, 4.5)

    assert status == 200, body
    [server] = body["usage"]["servers"]
    assert (server["instance_hours"], server["vcpu_hours"], server["ram_gb_hours"]) == (
        2.0,
        2.0,
        2.0,
    )
    assert server["disk_gb_hours"] == 20.0
    assert body["usage"]["totals"]["object_gb_hours"] == 3.5
    assert body["usage"]["totals"]["image_gb_hours"] == 4.0

    _, bobs = await usage(Reader(client, bob.token), bob.project_id, 0, 2)
    assert [s["id"] for s in bobs["usage"]["servers"]] == ["b1"]
    assert bobs["usage"]["servers"][0]["instance_hours"] == 1.5


async def test_noncurrent_versions_count_until_they_are_deleted(
    client: Client, store: PostgresEventStore, alice: Person
) -> None:
    log, project = Log(store), alice.project_id
    made = object_ev.ContainerCreated(project_id=project, container="box")
    await log.at(0, alice, "container-c1", made)
    where = {"project_id": project, "container": "box", "object": "o"}

    def stored(size: int, version: str) -> object_ev.ObjectStored:
        return object_ev.ObjectStored(
            **where, version_id=version, size=size, etag="e", content_type="a/b", versioned=True
        )

    await log.at(0, alice, "object-o1", stored(GIB, "v1"))
    await log.at(1, alice, "object-o1", stored(2 * GIB, "v2"))
    deleted = object_ev.ObjectDeleted(**where, version_id="v2", marker="m")
    await log.at(2, alice, "object-o1", deleted)
    await log.at(3, alice, "object-o1", object_ev.ObjectVersionDeleted(**where, version_id="v1"))

    # 1 GiB 1 h, then 3 GiB 2 h (the current and the kept, then both kept), then 2 GiB 1 h.
    status, body = await usage(Reader(client, alice.token), project, 0, 4)
    assert status == 200, body
    assert body["usage"]["containers"] == [{"name": "box", "gb_hours": 9.0}]


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z", 400),
        ("from=yesterday", 400),
        ("from=12", 400),
    ],
)
async def test_bad_periods(client: Client, alice: Person, query: str, status: int) -> None:
    got, body = await Reader(client, alice.token).get(f"usage?{query}")
    assert got == status, body
    assert body["error"]["code"] == status


async def test_members_read_only_their_own_projects_usage(
    client: Client, alice: Person, bob: Person
) -> None:
    status, body = await Reader(client, alice.token).get(f"usage?project={bob.project_id}")
    assert status == 403, body
    status, body = await Reader(client, alice.token).get("usage")
    assert status == 200, body
    assert body["usage"]["project_id"] == alice.project_id
    assert (await Reader(client, None).get("usage"))[0] == 401
    assert body["usage"]["servers"] == []
