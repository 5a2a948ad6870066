"""service/client.py through a real HTTP server on a real port: Keystone authentication
and catalog discovery, history, time travel, usage, pages of the log, the audit log, and
a live stream that resumes with no gap and no duplicate when the connection is cut or
the server drops it; and `kumo events tail` built on it."""

import asyncio
import contextlib
import os
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from msgspec.structs import replace

from events.postgres import PostgresEventStore
from service.client import ApiError, Credentials, EventsClient
from service.compute import events as ev
from service.config import Settings
from service.events_api.envelope import EventDoc
from service.events_api.sse import StreamOptions
from tests.integration.events_api.conftest import Reader, act, created
from tests.integration.events_api.test_audit import following
from tests.integration.identity.conftest import ADMIN_PASSWORD, Client, Person

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def settings(tmp_path: Path, port: int) -> Settings:
    """The cloud's public URL is the test server's, so the catalog leads to it."""
    return Settings(
        public_url=f"http://127.0.0.1:{port}",
        data_dir=tmp_path,
        admin_password=ADMIN_PASSWORD,
        password_hash_rounds=4,
    )


def as_person(settings: Settings, person: Person) -> Credentials:
    return Credentials(
        auth_url=f"{settings.public_url}/identity/v3",
        username=person.name,
        password=person.password,
        project_id=person.project_id,
    )


def as_admin(settings: Settings) -> Credentials:
    return Credentials(
        auth_url=f"{settings.public_url}/identity/v3",
        username="admin",
        password=ADMIN_PASSWORD,
        project_name="admin",
    )


async def test_history_at_usage_and_pages_as_the_api_shows_them(
    client: Client, settings: Settings, store: PostgresEventStore, alice: Person, bob: Person
) -> None:
    made = await act(store, alice, "server-s1", [created(alice, "s1")])
    updated = await act(store, alice, "server-s1", [ev.ServerUpdated(server_id="s1", name="web")])
    await act(store, bob, "server-b1", [created(bob, "b1")])
    reader = Reader(client, alice.token)

    async with EventsClient(as_person(settings, alice)) as kumo:
        history = await kumo.history("server", "s1")
        assert [e.type for e in history] == ["ServerCreateRequested", "ServerUpdated"]
        assert (await reader.get("resources/server/s1/history"))[1]["events"][1]["type"] == (
            history[1].type
        )
        assert (await kumo.at("server", "s1"))["server"]["name"] == "web"
        then = await kumo.at("server", "s1", made.events[0].position)
        assert then == (await reader.get(f"resources/server/s1?at={made.events[0].position}"))[1]
        assert then["server"]["name"] == "s1"
        assert (await kumo.usage())["project_id"] == alice.project_id
        with pytest.raises(ApiError) as refused:
            await kumo.history("server", "b1")
        assert refused.value.status == 404

        page = await kumo.events(after=0, resource_type="server")
        assert [(e.resource_id, e.type) for e in page.events] == [
            ("s1", "ServerCreateRequested"),
            ("s1", "ServerUpdated"),
        ]
        assert page.head == await store.head_position()
        back = await store.head_position() - updated.events[0].position
        assert (await kumo.events(last=back, types=["ServerUpdated"])).events == []
        last = await kumo.events(last=back + 1, types=["ServerUpdated"])
        assert [e.resource_id for e in last.events] == ["s1"]
        one = await kumo.events(after=0, limit=1, resource_type="server")
        assert [e.type for e in one.events] == ["ServerCreateRequested"]


async def test_a_token_and_an_endpoint_are_enough(
    client: Client, settings: Settings, store: PostgresEventStore, alice: Person
) -> None:
    await act(store, alice, "server-s1", [created(alice, "s1")])
    token_only = Credentials(token=alice.token, endpoint=f"{settings.public_url}/events/v1")
    async with EventsClient(token_only) as kumo:
        assert [e.type for e in await kumo.history("server", "s1")] == ["ServerCreateRequested"]
    with pytest.raises(PermissionError):
        async with EventsClient(replace(as_person(settings, alice), password="wrong")) as kumo:
            await kumo.history("server", "s1")


async def test_the_audit_log_page_by_page(
    client: Client, settings: Settings, store: PostgresEventStore, alice: Person
) -> None:
    async with following(store) as runner:
        for name in ("one", "two", "three"):
            body = {"name": name, "disk_format": "raw", "container_format": "bare"}
            response = await client.post(
                "/image/v2/images", json=body, headers={"X-Auth-Token": alice.token}
            )
            assert response.status == 201
        async with asyncio.timeout(10):
            await runner.wait_until(await store.head_position())
        async with EventsClient(as_admin(settings)) as kumo:
            records = [
                r
                async for r in kumo.audit(
                    limit=1, action="create", target_type="image", initiator_user_id=alice.user_id
                )
            ]
    assert len(records) == 3
    assert {r["outcome"] for r in records} == {"success"}


class Proxy:
    """A TCP proxy in front of the test server whose connections can be cut at will."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cuts: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.cuts += [writer, upstream_writer]

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

    def cut(self) -> None:
        for writer in self.cuts:
            writer.transport.abort()
        self.cuts.clear()

    async def stop(self) -> None:
        self.cut()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


async def collect(stream: AsyncIterator[EventDoc], count: int, into: list[EventDoc]) -> None:
    async with asyncio.timeout(20):
        async for event in stream:
            into.append(event)
            if len(into) == count:
                return


async def test_the_stream_resumes_after_a_cut_with_no_gap_and_no_duplicate(
    client: Client, settings: Settings, store: PostgresEventStore, alice: Person, port: int
) -> None:
    proxy = Proxy(port)
    via = await proxy.start()
    credentials = Credentials(token=alice.token, endpoint=f"http://127.0.0.1:{via}/events/v1")
    received: list[EventDoc] = []
    async with EventsClient(credentials, retry_delay=0.05) as kumo:
        stream = kumo.stream(types=["ServerCreateRequested"], resource_type="server")
        reading = asyncio.create_task(collect(stream, 6, received))
        await asyncio.sleep(0.3)
        for i in range(3):
            await act(store, alice, f"server-a{i}", [created(alice, f"a{i}")])
        while len(received) < 3:
            await asyncio.sleep(0.05)
        proxy.cut()
        for i in range(3, 6):  # while the client is away
            await act(store, alice, f"server-a{i}", [created(alice, f"a{i}")])
        await reading
    await proxy.stop()
    assert [e.resource_id for e in received] == [f"a{i}" for i in range(6)]


@pytest.mark.parametrize("stream_options", [StreamOptions(keepalive=0.2, buffer=2)])
async def test_the_stream_resumes_when_the_server_drops_a_slow_reader(
    client: Client, settings: Settings, store: PostgresEventStore, alice: Person
) -> None:
    for i in range(12):
        await act(store, alice, f"server-a{i}", [created(alice, f"a{i}")])
    received: list[EventDoc] = []
    async with EventsClient(as_person(settings, alice)) as kumo:
        await collect(kumo.stream(after=0, resource_type="server"), 12, received)
    assert [e.resource_id for e in received] == [f"a{i}" for i in range(12)]


async def tail(settings: Settings, *args: str) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "KUMO_"))}
    env |= {
        "OS_AUTH_URL": f"{settings.public_url}/identity/v3",
        "OS_USERNAME": "admin",
        "OS_PASSWORD": ADMIN_PASSWORD,
        "OS_PROJECT_NAME": "admin",
        "KUMO_LOG_LEVEL": "ERROR",
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "service",
        "events",
        "tail",
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_kumo_events_tail_prints_and_follows_through_the_api(
    client: Client, settings: Settings, store: PostgresEventStore, alice: Person
) -> None:
    made = await act(store, alice, "server-s1", [created(alice, "s1")])
    position = made.events[0].position

    done = await tail(settings, "-n", "100", "--category", "server")
    out, err = await done.communicate()
    assert done.returncode == 0, err.decode()
    [line] = out.decode().splitlines()
    assert line.startswith(f"#{position:<8} ")
    assert f" server-s1@1 ServerCreateRequested by {alice.user_id}@{alice.project_id}" in line
    assert "(req-server-s1)" in line and '"name":"s1"' in line
    assert "hunter2" not in line  # the admin password of the request never leaves

    follower = await tail(settings, "-f", "--type", "ServerUpdated")
    try:
        await asyncio.sleep(2)  # it authenticates and subscribes
        await act(store, alice, "server-s1", [ev.ServerUpdated(server_id="s1", name="web")])
        assert follower.stdout is not None
        async with asyncio.timeout(20):
            followed = (await follower.stdout.readline()).decode()
    finally:
        follower.terminate()
        await follower.wait()
    assert " server-s1@2 ServerUpdated by " in followed and '"name":"web"' in followed
