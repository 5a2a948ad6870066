"""The audit log: every change, authentication and denial made through real HTTP is
recorded as a CADF event, and GET /events/v1/audit searches, pages and exports them to
those who may read them; its read model follows the log and catches up after a stop."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
from aiohttp.test_utils import TestClient, TestServer

from events.postgres import PostgresEventStore
from events.subscription import SubscriptionRunner
from events.types import Actor, Event, Metadata
from projections.runner import rebuild, subscription_for
from service.app import create_app
from service.audit.events import AuditRecorded, Initiator, Target
from service.audit.projection import AuditProjection
from service.config import Settings
from service.http.forwarding import forwarding_headers
from tests.integration.identity.conftest import (
    Client,
    Person,
    password_auth,
    token_for,
)
from tests.integration.image.conftest import PATCH

AGENT = "audit-test/1.0"
REQUEST_ID = "req-0a0b0c0d-1111-2222-3333-444455556666"


@contextlib.asynccontextmanager
async def following(store: PostgresEventStore) -> AsyncIterator[SubscriptionRunner]:
    """The audit read model following the log, as `kumo up` runs it, until the block ends."""
    runner = SubscriptionRunner(store, None, subscription_for(AuditProjection()))
    task = asyncio.create_task(runner.run())
    try:
        yield runner
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class Audit:
    """GET /events/v1/audit as one caller, once the read model has caught up."""

    def __init__(self, client: Client, store: PostgresEventStore, runner: SubscriptionRunner):
        self.client = client
        self.store = store
        self.runner = runner

    async def caught_up(self) -> None:
        # Every request this test made has ended, and its events committed; the gap-safe
        # head could still stand below them while the runner's own transaction is open.
        last = await self.store.pool.fetchval("SELECT coalesce(max(position), 0) FROM events")
        async with asyncio.timeout(10):
            await self.runner.wait_until(last)

    async def get(self, token: str | None, query: str = "", **headers: str) -> tuple[int, Any, str]:
        """(status, decoded body or None, raw text) of one search."""
        await self.caught_up()
        sent = {"X-Auth-Token": token, **headers} if token else headers
        response = await self.client.get(f"/events/v1/audit{query}", headers=sent)
        text = await response.text()
        body = msgspec.json.decode(text) if response.content_type == "application/json" else None
        return response.status, body, text

    async def records(self, token: str | None, query: str = "") -> list[dict[str, Any]]:
        status, body, text = await self.get(token, query)
        assert status == 200, text
        records: list[dict[str, Any]] = body["records"]
        return records


@pytest.fixture
async def audit(client: Client, store: PostgresEventStore) -> AsyncIterator[Audit]:
    async with following(store) as runner:
        yield Audit(client, store, runner)


async def call(
    client: Client, method: str, path: str, token: str | None = None, **kwargs: Any
) -> int:
    headers = {"User-Agent": AGENT, **kwargs.pop("headers", {})}
    if token:
        headers["X-Auth-Token"] = token
    response = await client.request(method, path, headers=headers, **kwargs)
    await response.read()
    return response.status


async def test_a_create_update_and_delete_are_recorded_with_who_what_and_how(
    client: Client, audit: Audit, alice: Person, admin_token: str
) -> None:
    response = await client.post(
        "/image/v2/images",
        json={"name": "one", "disk_format": "raw", "container_format": "bare"},
        headers={
            "X-Auth-Token": alice.token,
            "User-Agent": AGENT,
            "x-openstack-request-id": REQUEST_ID,
        },
    )
    assert response.status == 201
    image_id = (await response.json())["id"]
    patch = msgspec.json.encode([{"op": "replace", "path": "/name", "value": "two"}])
    image = f"/image/v2/images/{image_id}"
    assert (
        await call(client, "PATCH", image, alice.token, data=patch, headers={"Content-Type": PATCH})
        == 200
    )
    assert await call(client, "DELETE", image, alice.token) == 204
    assert await call(client, "GET", "/image/v2/images", alice.token) == 200

    records = await audit.records(admin_token, f"?target_type=image&target_id={image_id}")

    assert [r["action"] for r in records] == ["create", "update", "delete"]
    assert [r["reason"]["reasonCode"] for r in records] == ["201", "200", "204"]
    assert {r["outcome"] for r in records} == {"success"}
    created = records[0]
    assert created["typeURI"] == "http://schemas.dmtf.org/cloud/audit/1.0/event"
    assert created["eventType"] == "activity"
    assert created["request_id"] == REQUEST_ID
    assert created["initiator"] == {
        "typeURI": "service/security/account/user",
        "id": alice.user_id,
        "name": "alice",
        "project_id": alice.project_id,
        "domain_id": "default",
        "roles": ["member", "reader"],
        "host": {"address": "127.0.0.1", "agent": AGENT},
    }
    assert created["target"] == {
        "typeURI": "data/image/image",
        "id": image_id,
        "project_id": alice.project_id,
    }
    assert created["observer"] == {"typeURI": "service/storage/image", "id": "kumo-image"}
    assert (created["method"], created["requestPath"]) == ("POST", "/image/v2/images")
    assert records[2]["requestPath"] == image
    # A GET is not audited; the one request id finds its one record.
    everything = await audit.records(admin_token, "?limit=1000")
    assert not [r for r in everything if r["method"] == "GET"]
    assert [r["action"] for r in await audit.records(admin_token, f"?request_id={REQUEST_ID}")] == [
        "create"
    ]


async def test_logins_succeed_and_fail_without_the_password_in_the_log(
    client: Client, audit: Audit, store: PostgresEventStore, alice: Person, admin_token: str
) -> None:
    wrong = password_auth("alice", "not-her-password-42")
    unknown = password_auth("nobody", "whatever-secret-17")
    assert await call(client, "POST", "/identity/v3/auth/tokens", json=wrong) == 401
    assert await call(client, "POST", "/identity/v3/auth/tokens", json=unknown) == 401

    logins = await audit.records(admin_token, "?action=authenticate")

    mine = [r for r in logins if r["initiator"].get("name") == "alice"]
    assert [r["outcome"] for r in mine] == ["success", "failure"]
    succeeded, failed = mine
    assert succeeded["initiator"]["project_id"] == alice.project_id
    assert succeeded["initiator"]["roles"] == ["member", "reader"]
    assert succeeded["target"]["id"] == alice.user_id
    assert failed["initiator"]["id"] == alice.user_id
    assert failed["reason"] == {"reasonType": "HTTP", "reasonCode": "401"}
    assert failed["target"]["typeURI"] == "service/security/account/user"
    stranger = [r for r in logins if r["initiator"].get("name") == "nobody"]
    assert [(r["outcome"], r["initiator"]["id"]) for r in stranger] == [("failure", "unknown")]
    everything = msgspec.json.encode(await store.read_all(limit=100_000)).decode()
    assert "not-her-password-42" not in everything
    assert "whatever-secret-17" not in everything


async def test_a_locked_out_user_is_recorded_as_failing(
    client: Client, audit: Audit, alice: Person, admin_token: str
) -> None:
    wrong = password_auth("alice", "wrong-password-1")
    for _ in range(2):  # the settings lock a user after 2 failures
        assert await call(client, "POST", "/identity/v3/auth/tokens", json=wrong) == 401
    right = password_auth("alice", alice.password)
    assert await call(client, "POST", "/identity/v3/auth/tokens", json=right) == 401

    records = await audit.records(
        admin_token, f"?action=authenticate&initiator_user_id={alice.user_id}&outcome=failure"
    )

    assert len(records) == 3
    assert all(r["reason"]["reasonCode"] == "401" for r in records)


async def test_denials_are_recorded_as_denied(
    client: Client, audit: Audit, alice: Person, admin_token: str
) -> None:
    assert (
        await call(
            client, "POST", "/identity/v3/projects", alice.token, json={"project": {"name": "mine"}}
        )
        == 403
    )
    assert await call(client, "GET", "/identity/v3/users", alice.token) == 403
    assert await call(client, "POST", "/compute/v2.1/servers", json={}) == 401

    denied = await audit.records(admin_token, "?outcome=denied")

    assert [(r["method"], r["action"], r["reason"]["reasonCode"]) for r in denied] == [
        ("POST", "create", "403"),
        ("GET", "read", "403"),
        ("POST", "create", "401"),
    ]
    assert [r["outcome"] for r in denied] == ["failure"] * 3
    assert denied[0]["initiator"]["id"] == alice.user_id
    assert denied[0]["target"]["typeURI"] == "data/security/project"
    assert denied[1]["target"]["typeURI"] == "data/security/account/user"
    assert denied[2]["initiator"]["id"] == "unknown"
    assert denied[2]["target"] == {"typeURI": "data/compute/server", "id": "unknown"}


async def test_actions_are_qualified_by_what_the_api_calls_them(
    client: Client, audit: Audit, alice: Person, admin_token: str
) -> None:
    body = {"name": "a", "disk_format": "raw", "container_format": "bare"}
    response = await client.post(
        "/image/v2/images", json=body, headers={"X-Auth-Token": alice.token}
    )
    image = f"/image/v2/images/{(await response.json())['id']}"
    rename = msgspec.json.encode([{"op": "replace", "path": "/name", "value": "b"}])
    headers = {"Content-Type": PATCH}
    assert await call(client, "PATCH", image, alice.token, data=rename, headers=headers) == 200
    # Glance refuses to deactivate an image that has no data yet.
    assert await call(client, "POST", f"{image}/actions/deactivate", admin_token) == 403
    server = "/compute/v2.1/servers/00000000-0000-0000-0000-000000000000/action"
    assert await call(client, "POST", server, alice.token, json={"os-stop": None}) == 404
    assert await call(client, "POST", server, alice.token, json={"fly away!": None}) == 404

    updates = [
        r
        for r in await audit.records(admin_token, "?action=update")
        if r["requestPath"].startswith((image, server))
    ]
    stops = await audit.records(admin_token, "?action=update/os-stop")

    assert [(r["action"], r["reason"]["reasonCode"]) for r in updates] == [
        ("update", "200"),
        ("update/deactivate", "403"),
        ("update/os-stop", "404"),
        ("update", "404"),
    ]
    assert [r["requestPath"] for r in stops] == [server]
    assert (await audit.get(admin_token, "?action=fly/os-stop"))[0] == 400


async def test_members_see_their_projects_records_and_admins_all(
    client: Client, audit: Audit, alice: Person, bob: Person, admin_token: str
) -> None:
    body = {"name": "a", "disk_format": "raw", "container_format": "bare"}
    assert await call(client, "POST", "/image/v2/images", alice.token, json=body) == 201
    assert await call(client, "POST", "/image/v2/images", bob.token, json=body) == 201

    alices = await audit.records(alice.token, "?action=create")
    bobs = await audit.records(bob.token, "?target_type=image")
    admins = await audit.records(admin_token, "?target_type=image")

    assert [r["initiator"]["id"] for r in alices] == [alice.user_id]
    assert [r["initiator"]["id"] for r in bobs] == [bob.user_id]
    assert {r["initiator"]["id"] for r in admins} == {alice.user_id, bob.user_id}
    assert all(
        alice.project_id in (r["initiator"].get("project_id"), r["target"].get("project_id"))
        for r in await audit.records(alice.token)
    )
    assert (await audit.get(None))[0] == 401
    unscoped = await token_for(client, password_auth("alice", alice.password))
    assert (await audit.get(unscoped))[0] == 403


async def test_an_admin_acting_on_a_members_resource_is_seen_by_the_member(
    client: Client, audit: Audit, alice: Person, admin_token: str
) -> None:
    body = {"name": "a", "disk_format": "raw", "container_format": "bare"}
    response = await client.post(
        "/image/v2/images", json=body, headers={"X-Auth-Token": alice.token}
    )
    image_id = (await response.json())["id"]
    assert await call(client, "DELETE", f"/image/v2/images/{image_id}", admin_token) == 204

    seen = await audit.records(alice.token, f"?target_id={image_id}")

    assert [r["action"] for r in seen] == ["create", "delete"]
    assert seen[1]["initiator"]["name"] == "admin"
    assert seen[1]["target"]["project_id"] == alice.project_id


async def test_filters_and_paging_with_next_links(
    client: Client, audit: Audit, alice: Person, admin_token: str
) -> None:
    for i in range(5):
        body = {"name": f"i{i}", "disk_format": "raw", "container_format": "bare"}
        assert await call(client, "POST", "/image/v2/images", alice.token, json=body) == 201
    everything = await audit.records(admin_token, f"?initiator_user_id={alice.user_id}")
    creates = [r for r in everything if r["action"] == "create"]
    assert len(creates) == 5

    pages, query = [], f"?initiator_user_id={alice.user_id}&action=create&limit=2"
    while query is not None:
        status, body, _ = await audit.get(admin_token, query)
        assert status == 200
        pages.append(body["records"])
        following = body["links"]["next"]
        query = None if following is None else following[following.index("?") :]
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [r["id"] for p in pages for r in p] == [r["id"] for r in creates]

    newest = await audit.records(
        admin_token, f"?initiator_project_id={alice.project_id}&action=create&sort_dir=desc"
    )
    assert [r["id"] for r in newest] == [r["id"] for r in reversed(creates)]
    middle = creates[2]
    between = await audit.records(
        admin_token,
        f"?action=create&initiator_user_id={alice.user_id}"
        f"&since={middle['position']}&until={creates[3]['position']}",
    )
    assert [r["id"] for r in between] == [middle["id"], creates[3]["id"]]
    later = await audit.records(
        admin_token, f"?action=create&since={middle['eventTime']}&target_type=image"
    )
    assert [r["id"] for r in later] == [r["id"] for r in creates[2:]]
    assert await audit.records(admin_token, "?outcome=pending&target_type=image") == []

    for bad in (
        "?limit=0",
        "?limit=x",
        "?marker=nope",
        f"?marker={'0' * 32}",
        "?outcome=maybe",
        "?action=fly",
        "?since=yesterday",
        "?sort_dir=up",
    ):
        status, body, _ = await audit.get(admin_token, bad)
        assert status == 400, bad
        assert body["error"]["code"] == 400


async def test_json_lines_export_streams_every_match_a_line_each(
    client: Client, audit: Audit, alice: Person, admin_token: str
) -> None:
    for i in range(3):
        body = {"name": f"i{i}", "disk_format": "raw", "container_format": "bare"}
        assert await call(client, "POST", "/image/v2/images", alice.token, json=body) == 201
    listed = await audit.records(admin_token, "?limit=1000")

    status, _, text = await audit.get(admin_token, "", Accept="application/jsonl")
    assert status == 200
    exported = [msgspec.json.decode(line) for line in text.splitlines()]
    assert exported == listed
    assert text.endswith("\n")

    _, _, text = await audit.get(alice.token, "?format=jsonl&action=create&limit=2")
    lines = text.splitlines()
    assert len(lines) == 2
    assert all(msgspec.json.decode(line)["initiator"]["id"] == alice.user_id for line in lines)


async def test_the_read_model_catches_up_after_a_restart(
    client: Client, store: PostgresEventStore, alice: Person, admin_token: str
) -> None:
    body = {"name": "before", "disk_format": "raw", "container_format": "bare"}
    async with following(store) as runner:
        assert await call(client, "POST", "/image/v2/images", alice.token, json=body) == 201
        assert (
            len(await Audit(client, store, runner).records(admin_token, "?target_type=image")) == 1
        )

    # Stopped: the records keep being written to the log, and wait there.
    for name in ("while-down-1", "while-down-2"):
        body = {"name": name, "disk_format": "raw", "container_format": "bare"}
        assert await call(client, "POST", "/image/v2/images", alice.token, json=body) == 201
    rows = await store.pool.fetchval("SELECT count(*) FROM rm_audit WHERE target_type = 'image'")
    assert rows == 1

    async with following(store) as runner:
        records = await Audit(client, store, runner).records(admin_token, "?target_type=image")
    assert len(records) == 3


async def test_a_rebuild_gives_the_rows_the_live_model_wrote(
    client: Client, audit: Audit, store: PostgresEventStore, alice: Person, admin_token: str
) -> None:
    body = {"name": "a", "disk_format": "raw", "container_format": "bare"}
    response = await client.post(
        "/image/v2/images", json=body, headers={"X-Auth-Token": alice.token}
    )
    image_id = (await response.json())["id"]
    assert await call(client, "DELETE", f"/image/v2/images/{image_id}", admin_token) == 204
    assert await call(client, "GET", "/identity/v3/users", alice.token) == 403
    await audit.caught_up()
    live = await audit_rows(store)

    await rebuild(store, AuditProjection(), inline=False)

    assert await audit_rows(store) == live
    assert {r["target_project_id"] for r in live if r["target_id"] == image_id} == {
        alice.project_id
    }


async def test_a_rebuild_before_the_model_ever_ran_leaves_it_following_from_the_head(
    client: Client, store: PostgresEventStore, alice: Person, admin_token: str
) -> None:
    body = {"name": "a", "disk_format": "raw", "container_format": "bare"}
    assert await call(client, "POST", "/image/v2/images", alice.token, json=body) == 201
    await rebuild(store, AuditProjection(), inline=False)

    async with following(store) as runner:
        audit = Audit(client, store, runner)
        assert await call(client, "POST", "/image/v2/images", alice.token, json=body) == 201
        records = await audit.records(admin_token, "?target_type=image")

    assert len(records) == 2


class OwnedThing(Event, frozen=True, tag="AuditTestOwnedThing"):
    """A first event naming its stream's project by `project_id`."""

    project_id: str | None = None


class OwnedFile(Event, frozen=True, tag="AuditTestOwnedFile"):
    """A first event naming its stream's project by `owner`, as images do."""

    owner: str | None = None


async def test_the_rebuilds_statement_sorts_and_owns_records_as_the_live_model_does(
    store: PostgresEventStore, audit: Audit
) -> None:
    """The rebuild is one SQL statement, the live model Python (cadf.verdict,
    access.owner_project): every rule of both, on records written directly."""
    actor = Metadata(actor=Actor(user_id="u1", project_id="p-actor"))
    firsts: dict[str, Event] = {
        "thing-field": OwnedThing(project_id="p-field"),
        "thing-actor": OwnedThing(),
        "thing-empty": OwnedThing(project_id=""),
        "file-owner": OwnedFile(owner="p-owner"),
        "file-empty": OwnedFile(owner=""),
        "user-u9": OwnedThing(project_id="p-identity"),
    }
    for stream, first in firsts.items():
        await store.append(stream, [first], metadata=actor)
    targets = [
        Target(type="thing", id="field"),
        Target(type="thing", id="field", project_id="p-named"),
        Target(type="thing", id="field", project_id=""),
        Target(type="thing", id="actor"),
        Target(type="thing", id="empty"),
        Target(type="file", id="owner"),
        Target(type="file", id="empty"),
        Target(type="user", id="u9"),
        Target(type="thing"),
        Target(type="thing", id="missing"),
        Target(type="thing", id="later"),
    ]
    statuses = [200, 201, 202, 204, 302, 400, 401, 403, 404, 409, 499, 500, 503]
    actions = ["create", "authenticate", "update/reboot"]
    for n, target in enumerate(targets * 3):  # each target with each action
        record = AuditRecorded(
            action=actions[n % 3], outcome="x", status=statuses[n % 13], observer="compute",
            method="POST", path="/p", initiator=Initiator(user_id=f"u{n % 2}" if n % 3 else None),
            target=target,
        )  # fmt: skip
        request = Metadata(request_id=f"req-{n}" if n % 2 else None)
        await store.append(f"audit-req-{n}", [record], metadata=request)
    await store.append("thing-later", [OwnedThing(project_id="p-later")], metadata=actor)
    await audit.caught_up()
    live = await audit_rows(store)
    assert len(live) == 33
    assert {r["verdict"] for r in live} == {"success", "pending", "failure", "denied", "unknown"}
    assert {r["target_project_id"] for r in live} == {
        "p-field", "p-named", "p-actor", "p-owner", None,
    }  # fmt: skip

    await rebuild(store, AuditProjection(), inline=False)

    assert await audit_rows(store) == live


async def audit_rows(store: PostgresEventStore) -> list[dict[str, Any]]:
    """rm_audit's rows, in log order."""
    return [dict(r) for r in await store.pool.fetch("SELECT * FROM rm_audit ORDER BY position")]


async def test_forwarded_addresses_are_believed_from_trusted_proxies_only(
    settings: Settings, store: PostgresEventStore, audit: Audit, alice: Person, admin_token: str
) -> None:
    body = {"name": "a", "disk_format": "raw", "container_format": "bare"}
    forwarded = {"X-Forwarded-For": "203.0.113.9, 10.0.0.1"}

    async def create_image(client: Client) -> int:
        return await call(
            client, "POST", "/image/v2/images", alice.token, json=body, headers=forwarded
        )

    assert await create_image(audit.client) == 201
    behind_proxies = msgspec.structs.replace(settings, trusted_proxies="127.0.0.1, 10.0.0.1")
    async with TestClient(TestServer(create_app(behind_proxies, store))) as proxied:
        assert await create_image(proxied) == 201

    records = await audit.records(admin_token, "?target_type=image")

    assert [r["initiator"]["host"]["address"] for r in records] == ["127.0.0.1", "203.0.113.9"]


async def test_a_call_forwarded_by_this_process_carries_its_clients_address(
    audit: Audit, alice: Person, admin_token: str
) -> None:
    body = {"name": "a", "disk_format": "raw", "container_format": "bare"}
    forged = {"X-Kumo-Forwarded-By": "a guess", "X-Forwarded-For": "203.0.113.9"}
    own = forwarding_headers("198.51.100.7")
    for headers in (forged, own):
        assert (
            await call(
                audit.client, "POST", "/image/v2/images", alice.token, json=body, headers=headers
            )
            == 201
        )

    records = await audit.records(admin_token, "?target_type=image")

    assert [r["initiator"]["host"]["address"] for r in records] == ["127.0.0.1", "198.51.100.7"]
