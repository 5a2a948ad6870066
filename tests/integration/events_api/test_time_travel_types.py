"""Time travel for every resource type: after a sequence of changes through the live
APIs, `?at=` now shows exactly what the service's own GET (or HEAD) shows, field by
field, and `?at=` a position before the last change shows the old value."""

from typing import Any

import msgspec

from events.postgres import PostgresEventStore
from tests.integration.events_api.conftest import Reader
from tests.integration.identity.conftest import Api, Client, Person

PATCH = "application/openstack-images-v2.1-json-patch"
RESPONSE_ONLY = {"x-trans-id", "x-openstack-request-id", "date", "server"}
"""Headers that describe one response rather than the resource (and a container's
Content-Type, that of its empty HEAD answer)."""


class Http:
    """Any API of the test app as one caller: (status, JSON or None, headers)."""

    def __init__(self, client: Client, token: str) -> None:
        self.client = client
        self.token = token

    async def call(
        self, method: str, path: str, body: Any = None, **headers: str
    ) -> tuple[int, Any, dict[str, str]]:
        sent = {"X-Auth-Token": self.token, **headers}
        data = None if body is None else msgspec.json.encode(body)
        if data is not None:
            sent.setdefault("Content-Type", "application/json")
        response = await self.client.request(method, path, data=data, headers=sent)
        text = await response.text()
        decoded = msgspec.json.decode(text) if text.strip().startswith(("{", "[")) else None
        return response.status, decoded, dict(response.headers)


async def travel(reader: Reader, kind: str, resource_id: str, at: int | None = None) -> Any:
    """The resource's document from the events API (now, or at a position)."""
    query = "" if at is None else f"?at={at}"
    status, body = await reader.get(f"resources/{kind}/{resource_id}{query}")
    assert status == 200, body
    return body


def resource_headers(headers: dict[str, str], *also: str) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() not in RESPONSE_ONLY.union(also)}


async def test_images(
    client: Client, store: PostgresEventStore, alice: Person, bob: Person
) -> None:
    http, reader = Http(client, alice.token), Reader(client, alice.token)
    body = {"name": "one", "disk_format": "raw", "container_format": "bare", "tags": ["a"]}
    status, image, _ = await http.call("POST", "/image/v2/images", body)
    assert status == 201, image
    await http.call(
        "PATCH",
        f"/image/v2/images/{image['id']}",
        [{"op": "add", "path": "/color", "value": "red"}],
        **{"Content-Type": PATCH},
    )
    before = await store.head_position()
    await http.call(
        "PATCH",
        f"/image/v2/images/{image['id']}",
        [{"op": "replace", "path": "/name", "value": "two"}],
        **{"Content-Type": PATCH},
    )
    response = await client.put(
        f"/image/v2/images/{image['id']}/file",
        data=b"x" * 10,
        headers={"X-Auth-Token": alice.token, "Content-Type": "application/octet-stream"},
    )
    assert response.status == 204, await response.text()
    await http.call("PUT", f"/image/v2/images/{image['id']}/tags/b")

    _, live, _ = await http.call("GET", f"/image/v2/images/{image['id']}")
    assert await travel(reader, "image", image["id"]) == live
    assert (live["name"], live["status"], live["size"], live["tags"]) == (
        "two",
        "active",
        10,
        ["a", "b"],
    )
    others = Reader(client, bob.token)
    assert (await others.get(f"resources/image/{image['id']}"))[0] == 404
    assert (await others.get(f"resources/image/{image['id']}/history"))[0] == 404
    then = await travel(reader, "image", image["id"], before)
    assert (then["name"], then["status"], then["size"], then["color"]) == (
        "one",
        "queued",
        None,
        "red",
    )


async def test_containers_and_objects(
    client: Client, store: PostgresEventStore, alice: Person, bob: Person
) -> None:
    http, reader = Http(client, alice.token), Reader(client, alice.token)
    root = f"/object/v1/AUTH_{alice.project_id}"
    await http.call("PUT", f"{root}/box", **{"X-Container-Meta-Owner": "alice"})
    await client.put(
        f"{root}/box/a.txt",
        data=b"hello",
        headers={"X-Auth-Token": alice.token, "X-Object-Meta-Color": "red"},
    )
    before = await store.head_position()
    await client.put(f"{root}/box/b.txt", data=b"more bytes", headers={"X-Auth-Token": alice.token})
    await http.call("POST", f"{root}/box/a.txt", **{"X-Object-Meta-Color": "blue"})
    await http.call("POST", f"{root}/box", **{"X-Container-Meta-Owner": "bob"})
    container_id = (await store.read_all(types=["ContainerCreated"]))[-1].stream_id
    object_id = (await store.read_all(types=["ObjectStored"]))[0].stream_id

    _, _, live = await http.call("HEAD", f"{root}/box")
    now = await travel(reader, "container", container_id.removeprefix("container-"))
    assert now == resource_headers(live, "content-type")
    assert (now["X-Container-Object-Count"], now["X-Container-Bytes-Used"]) == ("2", "15")
    assert now["X-Container-Meta-Owner"] == "bob"
    then = await travel(reader, "container", container_id.removeprefix("container-"), before)
    assert (then["X-Container-Object-Count"], then["X-Container-Meta-Owner"]) == ("1", "alice")

    _, _, live = await http.call("HEAD", f"{root}/box/a.txt")
    now = await travel(reader, "object", object_id.removeprefix("object-"))
    assert now == resource_headers(live)
    assert now["X-Object-Meta-Color"] == "blue"
    then = await travel(reader, "object", object_id.removeprefix("object-"), before)
    assert then["X-Object-Meta-Color"] == "red"
    others = Reader(client, bob.token)
    for stream_id in (container_id, object_id):
        kind, _, resource_id = stream_id.partition("-")
        assert (await others.get(f"resources/{kind}/{resource_id}/history"))[0] == 404
        assert (await reader.get(f"resources/{kind}/{resource_id}/history"))[0] == 200


async def test_a_versioned_container_counts_its_kept_versions(
    client: Client, store: PostgresEventStore, alice: Person
) -> None:
    http, reader = Http(client, alice.token), Reader(client, alice.token)
    root = f"/object/v1/AUTH_{alice.project_id}"
    await http.call("PUT", f"{root}/box", **{"X-Versions-Enabled": "true"})
    for body in (b"hello", b"hello, again"):
        await client.put(f"{root}/box/a.txt", data=body, headers={"X-Auth-Token": alice.token})
    await http.call("DELETE", f"{root}/box/a.txt")
    container_id = (await store.read_all(types=["ContainerCreated"]))[-1].stream_id

    _, _, live = await http.call("HEAD", f"{root}/box")
    now = await travel(reader, "container", container_id.removeprefix("container-"))
    assert now == resource_headers(live, "content-type")
    assert (now["X-Container-Object-Count"], now["X-Container-Bytes-Used"]) == ("0", "17")


async def test_identity_resources(
    client: Client, store: PostgresEventStore, as_admin: Api, admin_reader: Reader, alice: Person
) -> None:
    made: dict[str, str] = {}
    for kind, body in (
        ("domain", {"name": "d1", "description": "old"}),
        ("project", {"name": "p1", "description": "old"}),
        ("user", {"name": "u1", "description": "old", "email": "u1@example.com"}),
        ("group", {"name": "g1", "description": "old"}),
        ("role", {"name": "r1", "description": "old"}),
    ):
        status, created = await as_admin.call("POST", f"{kind}s", {kind: body})
        assert status == 201, created
        made[kind] = created[kind]["id"]
    before = await store.head_position()
    for kind, resource_id in made.items():
        status, _ = await as_admin.call(
            "PATCH", f"{kind}s/{resource_id}", {kind: {"description": "new"}}
        )
        assert status == 200

    for kind, resource_id in made.items():
        _, live = await as_admin.call("GET", f"{kind}s/{resource_id}")
        assert await travel(admin_reader, kind, resource_id) == live, kind
        assert live[kind]["description"] == "new"
        then = await travel(admin_reader, kind, resource_id, before)
        assert then[kind]["description"] == "old", kind
        assert "password_hash" not in then[kind]

    own = Reader(client, alice.token)
    assert (await own.get(f"resources/user/{alice.user_id}"))[0] == 200
    assert (await own.get(f"resources/project/{alice.project_id}"))[0] == 200
    assert (await own.get(f"resources/project/{made['project']}"))[0] == 404
    assert (await own.get(f"resources/user/{made['user']}/history"))[0] == 404


async def test_flavors_keypairs_and_server_groups(
    client: Client, store: PostgresEventStore, admin_token: str, alice: Person, bob: Person
) -> None:
    admin, http, reader = (
        Http(client, admin_token),
        Http(client, alice.token),
        Reader(client, alice.token),
    )
    flavor = {"flavor": {"name": "tt.small", "ram": 256, "vcpus": 1, "disk": 1, "id": "tt-1"}}
    status, body, _ = await admin.call("POST", "/compute/v2.1/flavors", flavor)
    assert status == 200, body
    before = await store.head_position()
    await admin.call(
        "POST", "/compute/v2.1/flavors/tt-1/os-extra_specs", {"extra_specs": {"k": "v"}}
    )
    _, live, _ = await admin.call("GET", "/compute/v2.1/flavors/tt-1")
    admin_reader = Reader(client, admin_token)
    assert await travel(admin_reader, "flavor", "tt-1") == live
    assert await travel(admin_reader, "flavor", "tt-1", before) == live  # specs: not at 2.1

    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOlmSdlv5qXT2L+8j4Lw1kNo0Z0L3Sjh4Qq2cLZ+zU7L tt"
    status, body, _ = await http.call(
        "POST", "/compute/v2.1/os-keypairs", {"keypair": {"name": "laptop", "public_key": key}}
    )
    assert status == 200, body
    keypair_id = (await store.read_all(types=["KeypairCreated"]))[-1].stream_id
    _, live, _ = await http.call("GET", "/compute/v2.1/os-keypairs/laptop")
    assert await travel(reader, "keypair", keypair_id.removeprefix("keypair-")) == live
    assert "private_key" not in live["keypair"]
    await http.call("DELETE", "/compute/v2.1/os-keypairs/laptop")
    gone = await reader.get(f"resources/keypair/{keypair_id.removeprefix('keypair-')}")
    assert gone[0] == 404

    group = {"server_group": {"name": "g", "policies": ["anti-affinity"]}}
    status, body, _ = await http.call("POST", "/compute/v2.1/os-server-groups", group)
    assert status == 200, body
    group_id = body["server_group"]["id"]
    _, live, _ = await http.call("GET", f"/compute/v2.1/os-server-groups/{group_id}")
    assert await travel(reader, "servergroup", group_id) == live
    assert (await Reader(client, bob.token).get(f"resources/servergroup/{group_id}"))[0] == 404
    status, history = await reader.get(f"resources/servergroup/{group_id}/history")
    assert [e["type"] for e in history["events"]] == ["ServerGroupCreated"]
