"""Identity fixtures: an in-process Kumo app with a bootstrapped admin, tokens for callers
of each role, and a real `kumo up` server process for the OpenStack client libraries."""

import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from events.postgres import PostgresEventStore
from service.app import create_app
from service.config import Settings
from service.embedded_postgres import free_port
from service.identity.bootstrap import Bootstrapped, bootstrap
from tests.conftest import ROOT, TEMPLATE, _on_server, with_database

Client = TestClient[web.Request, web.Application]
PUBLIC_URL = "http://kumo.test:5000"
ADMIN_PASSWORD = "admin-secret-1"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        public_url=PUBLIC_URL,
        data_dir=tmp_path,
        admin_password=ADMIN_PASSWORD,
        password_hash_rounds=4,
        lockout_failure_attempts=2,
        lockout_duration=5,
        unique_last_password_count=2,
    )


@pytest.fixture
async def admin(store: PostgresEventStore, settings: Settings) -> Bootstrapped:
    return await bootstrap(store, settings)


@pytest.fixture
async def client(
    settings: Settings, store: PostgresEventStore, admin: Bootstrapped
) -> AsyncIterator[Client]:
    async with TestClient(TestServer(create_app(settings, store))) as client:
        yield client


def password_auth(
    name: str, password: str, *, project: str | None = None, domain: str = "Default"
) -> dict[str, Any]:
    """A POST /v3/auth/tokens body: a user by name, optionally scoped to a project by name."""
    auth: dict[str, Any] = {
        "identity": {
            "methods": ["password"],
            "password": {"user": {"name": name, "domain": {"name": domain}, "password": password}},
        }
    }
    if project is not None:
        auth["scope"] = {"project": {"name": project, "domain": {"name": domain}}}
    return {"auth": auth}


async def token_for(client: Client, body: dict[str, Any]) -> str:
    response = await client.post("/identity/v3/auth/tokens", json=body)
    assert response.status == 201, await response.text()
    return response.headers["X-Subject-Token"]


@pytest.fixture
async def admin_token(client: Client) -> str:
    return await token_for(client, password_auth("admin", ADMIN_PASSWORD, project="admin"))


class Api:
    """Identity calls as one caller: JSON in, (status, JSON) out."""

    def __init__(self, client: Client, token: str | None) -> None:
        self.client = client
        self.token = token

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {"X-Auth-Token": self.token} if self.token else {}
        response = await self.client.request(
            method, f"/identity/v3/{path}", json=body, headers=headers
        )
        text = await response.text()
        return response.status, (msgspec.json.decode(text) if text.strip() else None)


@pytest.fixture
def as_admin(client: Client, admin_token: str) -> Api:
    return Api(client, admin_token)


class Person(msgspec.Struct):
    """A user made for a test, with a project and a token scoped to it."""

    user_id: str
    project_id: str
    name: str
    password: str
    token: str


async def make_person(as_admin: Api, role: str, name: str, project_id: str | None = None) -> Person:
    """A user holding `role` on a project (new unless given), and its project token."""
    if project_id is None:
        status, body = await as_admin.call("POST", "projects", {"project": {"name": f"p-{name}"}})
        assert status == 201, body
        project_id = body["project"]["id"]
    password = f"pw-{name}-1"
    status, body = await as_admin.call(
        "POST", "users", {"user": {"name": name, "password": password}}
    )
    assert status == 201, body
    user_id = body["user"]["id"]
    _, roles = await as_admin.call("GET", f"roles?name={role}")
    role_id = roles["roles"][0]["id"]
    status, _ = await as_admin.call("PUT", f"projects/{project_id}/users/{user_id}/roles/{role_id}")
    assert status == 204
    scope = {"project": {"id": project_id}}
    body = password_auth(name, password)
    body["auth"]["scope"] = scope
    token = await token_for(as_admin.client, body)
    return Person(user_id, project_id, name, password, token)


# --- a real server process, for the client libraries ----------------------------------


class LiveCloud(msgspec.Struct):
    url: str
    auth_url: str
    admin_password: str
    database_url: str


class KumoProcess:
    """`kumo up` in a subprocess on a given database and data folder, until stopped."""

    def __init__(self, database_url: str, data_dir: Path, config_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "KUMO_DATABASE_URL": database_url,
            "KUMO_LISTEN": f"127.0.0.1:{self.port}",
            "KUMO_DATA_DIR": str(data_dir),
            "KUMO_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "KUMO_PASSWORD_HASH_ROUNDS": "4",
            "KUMO_LIBVIRT_URI": "test:///default",  # real machines only where a test asks
            "OS_CLIENT_CONFIG_FILE": str(config_dir / "clouds.yaml"),
        }
        self.log = data_dir / "kumo.log"  # a file, not a pipe nobody drains
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the server and wait until /healthz answers; RuntimeError with its output
        if it exits or is not up within 60 s."""
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "service", "up"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/healthz", timeout=1).read()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    output = self.log.read_text(errors="replace")
                    raise RuntimeError(f"kumo up did not start:\n{output}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        """Terminate the server (kill it if it does not exit within 15 s)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextlib.contextmanager
def own_database(server_url: str) -> Iterator[str]:
    """A migrated database for a server process, from sync code. (Entering
    `fresh_database` with `asyncio.run` would not do: the run's end finalises the
    generator, which drops the database at once.)"""
    name = f"kumo_live_{uuid.uuid4().hex[:12]}"
    asyncio.run(_on_server(server_url, f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}"))
    try:
        yield with_database(server_url, name)
    finally:
        asyncio.run(_on_server(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@contextlib.contextmanager
def running_kumo(server_url: str) -> Iterator[KumoProcess]:
    """`kumo up` on a database and a data folder of its own, until the block ends."""
    with tempfile.TemporaryDirectory() as folder, own_database(server_url) as database_url:
        process = KumoProcess(database_url, Path(folder), Path(folder))
        process.start()
        try:
            yield process
        finally:
            process.stop()


@pytest.fixture(scope="module")
def live_cloud(
    server_url: str, template_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveCloud]:
    """`kumo up` in a subprocess on a database of its own, until the module's tests end."""
    with own_database(server_url) as database_url:
        kumo = KumoProcess(
            database_url, tmp_path_factory.mktemp("kumo-data"), tmp_path_factory.mktemp("os")
        )
        try:
            kumo.start()
            yield LiveCloud(kumo.url, f"{kumo.url}/identity/v3", ADMIN_PASSWORD, database_url)
        finally:
            kumo.stop()
