"""Keypairs: generated and imported ssh keys with Nova's fingerprints, x509 at 2.2, the
status codes of 2.1 and 2.2, per-user isolation, validation and the keypair quota."""

import base64
import hashlib

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from tests.integration.compute.conftest import Nova
from tests.integration.identity.conftest import Person


def md5_fingerprint(public_key: str) -> str:
    digest = hashlib.md5(base64.b64decode(public_key.split()[1])).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def an_ssh_key() -> str:
    public = ed25519.Ed25519PrivateKey.generate().public_key()
    raw = public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return raw.decode() + " me@laptop"


async def test_generate_show_list_delete_at_2_1(as_alice: Nova, alice: Person) -> None:
    created = (await as_alice.post("os-keypairs", {"keypair": {"name": "k1"}})).check(
        "keypairs.create_keypair"
    )["keypair"]
    assert created["public_key"].startswith("ssh-rsa ")
    assert created["fingerprint"] == md5_fingerprint(created["public_key"])
    private = serialization.load_pem_private_key(created["private_key"].encode(), None)
    assert private.key_size == 2048  # type: ignore[union-attr]
    shown = (await as_alice.get("os-keypairs/k1")).check("keypairs.get_keypair")["keypair"]
    assert (shown["user_id"], shown["fingerprint"]) == (alice.user_id, created["fingerprint"])
    assert "private_key" not in shown
    listed = (await as_alice.get("os-keypairs")).check("keypairs.list_keypairs")
    assert [k["keypair"]["name"] for k in listed["keypairs"]] == ["k1"]
    (await as_alice.delete("os-keypairs/k1")).check("keypairs.delete_keypair")
    assert (await as_alice.get("os-keypairs/k1")).status == 404


async def test_import_computes_nova_fingerprint(as_alice: Nova) -> None:
    key = an_ssh_key()
    body = {"keypair": {"name": "laptop", "public_key": key}}
    created = (await as_alice.post("os-keypairs", body)).check("keypairs.create_keypair")
    assert created["keypair"]["fingerprint"] == md5_fingerprint(key)
    assert "private_key" not in created["keypair"]


async def test_types_and_status_codes_at_2_2(as_alice: Nova) -> None:
    nova = as_alice.at("2.2")
    reply = await nova.post("os-keypairs", {"keypair": {"name": "win", "type": "x509"}})
    created = reply.check("keypairs.create_keypair", "v2_2")["keypair"]
    assert reply.headers["X-OpenStack-Nova-API-Version"] == "2.2"
    cert = x509.load_pem_x509_certificate(created["public_key"].encode())
    assert created["type"] == "x509" and created["private_key"]
    assert created["fingerprint"] == cert.fingerprint(hashes.SHA1()).hex(":")
    ssh = (await nova.post("os-keypairs", {"keypair": {"name": "ssh"}})).body["keypair"]
    assert ssh["type"] == "ssh"
    shown = (await nova.get("os-keypairs/win")).check("keypairs.get_keypair", "v2_2")
    assert shown["keypair"]["type"] == "x509"
    listed = (await nova.get("os-keypairs")).check("keypairs.list_keypairs", "v2_2")
    assert {k["keypair"]["name"]: k["keypair"]["type"] for k in listed["keypairs"]} == {
        "ssh": "ssh", "win": "x509",
    }  # fmt: skip
    (await nova.delete("os-keypairs/win")).check("keypairs.delete_keypair", "v2_2")
    assert (
        await as_alice.post("os-keypairs", {"keypair": {"name": "t", "type": "ssh"}})
    ).status == 400


async def test_invalid_keypairs_are_refused(as_alice: Nova) -> None:
    await as_alice.post("os-keypairs", {"keypair": {"name": "taken"}})
    cases = [
        ({"name": "bad", "public_key": "ssh-rsa JUNK nova@ubuntu"}, 400),
        ({"name": "bad", "public_key": " "}, 400),
        ({"name": "bad", "public_key": "ssh-rsa " + "A" * 2048 + " openstack@ubuntu"}, 400),
        ({"name": ""}, 400),
        ({"name": "k" * 256}, 400),
        ({"name": "semi;colon"}, 400),
        ({"name": "taken"}, 409),
    ]
    for body, status in cases:
        reply = await as_alice.post("os-keypairs", {"keypair": body})
        assert reply.status == status, (body, reply.body)
    assert (await as_alice.delete("os-keypairs/missing")).status == 404


async def test_keypairs_belong_to_their_user(
    as_alice: Nova, as_bob: Nova, nova_admin: Nova, alice: Person
) -> None:
    await as_alice.post("os-keypairs", {"keypair": {"name": "mine"}})
    assert (await as_bob.get("os-keypairs/mine")).status == 404
    assert (await as_bob.get("os-keypairs")).body == {"keypairs": []}
    assert (await as_bob.delete("os-keypairs/mine")).status == 404
    other = f"os-keypairs/mine?user_id={alice.user_id}"
    assert (await as_bob.at("2.10").get(other)).status == 403
    assert (await nova_admin.at("2.10").get(other)).status == 200
    assert (await nova_admin.get(other)).status == 404  # user_id is ignored before 2.10


async def test_keypair_quota(as_alice: Nova, nova_admin: Nova, alice: Person) -> None:
    update = {"quota_set": {"key_pairs": 1}}
    assert (await nova_admin.put(f"os-quota-sets/{alice.project_id}", update)).status == 200
    assert (await as_alice.post("os-keypairs", {"keypair": {"name": "one"}})).status == 200
    reply = await as_alice.post("os-keypairs", {"keypair": {"name": "two"}})
    assert reply.status == 403
    message = "Quota exceeded, too many key pairs."
    assert reply.body == {"forbidden": {"code": 403, "message": message}}
