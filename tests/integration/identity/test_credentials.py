"""Credentials over HTTP: /v3/credentials (owner and admin only, blobs encrypted in the
log) and the EC2 key pairs of /v3/users/{id}/credentials/OS-EC2."""

import hashlib
import json

from events.postgres import PostgresEventStore
from tests.integration.identity.conftest import Api, Client, make_person


async def test_a_credential_belongs_to_its_user_and_admins(
    client: Client, as_admin: Api, store: PostgresEventStore
) -> None:
    alice = await make_person(as_admin, "member", "alice")
    bob = await make_person(as_admin, "member", "bob")
    as_alice, as_bob = Api(client, alice.token), Api(client, bob.token)
    body = {"type": "cert", "blob": "-----BEGIN CERT----- alice", "user_id": alice.user_id}
    status, created = await as_alice.call("POST", "credentials", {"credential": body})
    assert status == 201, created
    credential = created["credential"]
    assert credential["blob"] == body["blob"] and credential["project_id"] is None
    path = f"credentials/{credential['id']}"
    assert credential["links"]["self"].endswith(f"/identity/v3/{path}")
    assert (await as_alice.call("GET", path)) == (200, {"credential": credential})
    assert (await as_bob.call("GET", path))[0] == 403
    assert (await as_bob.call("DELETE", path))[0] == 403
    stolen = body | {"user_id": alice.user_id, "blob": "bob's"}
    assert (await as_bob.call("POST", "credentials", {"credential": stolen}))[0] == 403
    _, listed = await as_bob.call("GET", "credentials")
    assert listed["credentials"] == []
    _, listed = await as_admin.call("GET", f"credentials?user_id={alice.user_id}&type=cert")
    assert [c["id"] for c in listed["credentials"]] == [credential["id"]]

    status, updated = await as_alice.call("PATCH", path, {"credential": {"blob": "renewed"}})
    assert status == 200 and updated["credential"]["blob"] == "renewed"
    logged = await store.pool.fetchval(
        "SELECT string_agg(data::text, ' ') FROM events WHERE stream_id = $1",
        f"credential-{credential['id']}",
    )
    assert "renewed" not in logged and "BEGIN CERT" not in logged
    assert (await as_alice.call("DELETE", path))[0] == 204
    assert (await as_admin.call("GET", path))[0] == 404
    assert (await as_alice.call("GET", path))[0] == 403  # as Keystone: no hint it was there


async def test_credential_input_is_checked(client: Client, as_admin: Api) -> None:
    alice = await make_person(as_admin, "member", "carol")
    as_alice = Api(client, alice.token)

    async def create(body: dict[str, object]) -> int:
        payload = {"type": "ec2", "user_id": alice.user_id} | body
        return (await as_alice.call("POST", "credentials", {"credential": payload}))[0]

    assert await create({"blob": "not json", "project_id": alice.project_id}) == 400
    assert (
        await create({"blob": json.dumps({"secret": "s"}), "project_id": alice.project_id}) == 400
    )
    assert await create({"blob": json.dumps({"access": "a", "secret": "s"})}) == 400
    assert await create({"blob": "x", "type": "cert", "project_id": "nowhere"}) == 404
    assert await create({"blob": "x", "type": "cert", "user_id": "nobody"}) == 403
    nobodys = {"type": "cert", "blob": "x", "user_id": "nobody"}
    assert (await as_admin.call("POST", "credentials", {"credential": nobodys}))[0] == 404
    ec2 = {"blob": json.dumps({"access": "key-1", "secret": "s"}), "project_id": alice.project_id}
    status, created = await as_alice.call(
        "POST", "credentials", {"credential": {"type": "ec2", "user_id": alice.user_id} | ec2}
    )
    assert status == 201
    assert created["credential"]["id"] == hashlib.sha256(b"key-1").hexdigest()
    assert await create(ec2) == 409
    path = f"credentials/{created['credential']['id']}"
    renewed = {"blob": json.dumps({"access": "key-2", "secret": "t"})}
    status, body = await as_alice.call("PATCH", path, {"credential": renewed})
    assert status == 200 and json.loads(body["credential"]["blob"])["access"] == "key-2"
    trusted = {"blob": json.dumps({"access": "key-2", "secret": "t", "trust_id": "t1"})}
    assert (await as_alice.call("PATCH", path, {"credential": trusted}))[0] == 400
    assert (await as_alice.call("PATCH", path, {"credential": {"blob": "{}"}}))[0] == 400


async def test_ec2_key_pairs(client: Client, as_admin: Api) -> None:
    dave = await make_person(as_admin, "member", "dave")
    erin = await make_person(as_admin, "member", "erin")
    as_dave, as_erin = Api(client, dave.token), Api(client, erin.token)
    path = f"users/{dave.user_id}/credentials/OS-EC2"
    status, created = await as_dave.call("POST", path, {"tenant_id": dave.project_id})
    assert status == 201, created
    pair = created["credential"]
    assert pair["user_id"] == dave.user_id and pair["tenant_id"] == dave.project_id
    assert len(pair["access"]) == 32 and len(pair["secret"]) == 32 and pair["trust_id"] is None
    assert pair["links"]["self"].endswith(f"/identity/v3/{path}/{pair['access']}")
    assert (await as_dave.call("GET", f"{path}/{pair['access']}")) == (200, {"credential": pair})
    _, listed = await as_dave.call("GET", path)
    assert listed["credentials"] == [pair]
    _, generic = await as_dave.call("GET", "credentials?type=ec2")
    assert json.loads(generic["credentials"][0]["blob"])["secret"] == pair["secret"]
    assert (await as_erin.call("GET", f"{path}/{pair['access']}"))[0] == 403
    assert (await as_erin.call("POST", path, {"tenant_id": erin.project_id}))[0] == 403
    erins = f"users/{erin.user_id}/credentials/OS-EC2"
    assert (await as_erin.call("GET", f"{erins}/{pair['access']}"))[0] == 404
    assert (await as_dave.call("POST", path, {"tenant_id": "nowhere"}))[0] == 404
    assert (await as_dave.call("POST", path, {}))[0] == 400
    credential_id = hashlib.sha256(pair["access"].encode()).hexdigest()
    history = f"/events/v1/resources/credential/{credential_id}/history"
    response = await client.get(history, headers={"X-Auth-Token": dave.token})
    assert response.status == 404  # identity streams are the admins'
    response = await client.get(history, headers={"X-Auth-Token": as_admin.token or ""})
    [event] = (await response.json())["events"]
    assert event["type"] == "CredentialCreated" and "encrypted_blob" not in event["data"]
    assert (await as_dave.call("DELETE", f"{path}/{pair['access']}"))[0] == 204
    assert (await as_dave.call("GET", f"{path}/{pair['access']}"))[0] == 404


async def test_a_deleted_user_takes_its_credentials_along(client: Client, as_admin: Api) -> None:
    frank = await make_person(as_admin, "member", "frank")
    path = f"users/{frank.user_id}/credentials/OS-EC2"
    status, _ = await Api(client, frank.token).call("POST", path, {"tenant_id": frank.project_id})
    assert status == 201
    assert (await as_admin.call("DELETE", f"users/{frank.user_id}"))[0] == 204
    _, listed = await as_admin.call("GET", f"credentials?user_id={frank.user_id}")
    assert listed["credentials"] == []
