"""/v2.1/os-keypairs: import or generate a user's keypairs, list, show and delete them.

Fingerprints are Nova's: the MD5 of an ssh key's blob, the SHA-1 of an x509
certificate, in colon-separated hex. A generated private key is returned once and
never stored. Types (`ssh`, `x509`) come with 2.2; an admin names another user from 2.10.
"""

import asyncio
import base64
import hashlib
import string
from datetime import timedelta
from typing import Annotated, Any, Literal

import msgspec
from aiohttp import web
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from msgspec import Meta

from events.clock import SystemClock
from events.store import NO_STREAM
from service.auth import AuthContext, caller
from service.compute import events as ev
from service.compute.api import paging
from service.compute.api.microversion import Microversion, version_of
from service.compute.directory import Keypair, count, select
from service.compute.policy_rules import authorize
from service.compute.quota import OverQuota, limits
from service.errors import BadRequest, Conflict, NotFound
from service.http.body import json_response, read_json
from service.http.recording import new_uuid, record, store

ROUTES = web.RouteTableDef()

SAFE_NAME_CHARACTERS = frozenset("_- " + string.digits + string.ascii_letters)
RSA_BITS = 2048


class NewKeypair(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(max_length=255)]
    public_key: str | None = None
    type: Literal["ssh", "x509"] | None = None
    user_id: str | None = None


class CreateKeypair(msgspec.Struct):
    keypair: NewKeypair


class Material(msgspec.Struct, frozen=True):
    """What a keypair is made of; `private_key` only when Kumo generated it."""

    public_key: str
    fingerprint: str
    private_key: str | None = None


def _colon_hex(digest: bytes) -> str:
    return ":".join(f"{byte:02x}" for byte in digest)


def invalid_key(reason: str) -> BadRequest:
    return BadRequest(f"Keypair data is invalid: {reason}")


def ssh_fingerprint(public_key: str) -> str:
    """Nova's fingerprint of an OpenSSH public key; BadRequest if it is not one."""
    try:
        serialization.load_ssh_public_key(public_key.encode())
        blob = base64.b64decode(public_key.split()[1])
    except (ValueError, IndexError, UnsupportedAlgorithm):
        raise invalid_key("failed to generate fingerprint") from None
    return _colon_hex(hashlib.md5(blob, usedforsecurity=False).digest())


def x509_fingerprint(certificate: str) -> str:
    """Nova's fingerprint of a PEM certificate; BadRequest if it is not one."""
    try:
        cert = x509.load_pem_x509_certificate(certificate.encode())
    except ValueError:
        raise invalid_key("failed to generate X509 fingerprint") from None
    return _colon_hex(cert.fingerprint(hashes.SHA1()))  # Nova's format


def _private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


def generate_ssh() -> Material:
    """A new RSA keypair in OpenSSH form, as Nova generates it. CPU-bound: run it in a
    thread."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    public_key = f"{public.decode()} Generated-by-Nova"
    return Material(public_key, ssh_fingerprint(public_key), _private_pem(key))


def generate_x509(user_id: str) -> Material:
    """A new key and a self-signed certificate for `user_id@localhost`, valid ten years,
    as Nova makes for WinRM. CPU-bound: run it in a thread."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{user_id}@localhost")])
    now = SystemClock().now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    return Material(pem, x509_fingerprint(pem), _private_pem(key))


async def material(body: NewKeypair, key_type: str, user_id: str) -> Material:
    """The imported key with its fingerprint, or a generated one; BadRequest if invalid."""
    if body.public_key is None:
        if key_type == "x509":
            return await asyncio.to_thread(generate_x509, user_id)
        return await asyncio.to_thread(generate_ssh)
    if key_type == "x509":
        return Material(body.public_key, x509_fingerprint(body.public_key))
    return Material(body.public_key, ssh_fingerprint(body.public_key))


def _check_name(name: str) -> None:
    if not set(name) <= SAFE_NAME_CHARACTERS:
        raise invalid_key("Keypair name contains unsafe characters")
    if not 1 <= len(name) <= 255:
        raise invalid_key("Keypair name must be string and between 1 and 255 characters long")


def _owner(request: web.Request, action: str, given: str | None) -> tuple[AuthContext, str]:
    """The caller and the user whose keypairs the request is about (the caller, or from
    2.10 the user it names), once `action` is allowed on them; Forbidden otherwise."""
    ctx = caller(request)
    user_id = ctx.user_id
    if given is not None and version_of(request).at_least("2.10"):
        user_id = given
    authorize(request, action, {"user_id": user_id})
    return ctx, user_id


def _typed(request: web.Request, view: dict[str, Any], keypair_type: str) -> dict[str, Any]:
    return view | {"type": keypair_type} if version_of(request).at_least("2.2") else view


@ROUTES.post("/v2.1/os-keypairs")
async def create_keypair(request: web.Request) -> web.Response:
    body = (await read_json(request, CreateKeypair)).keypair
    version = version_of(request)
    if body.type is not None and not version.at_least("2.2"):
        raise BadRequest("Additional properties are not allowed ('type' was unexpected)")
    if body.user_id is not None and not version.at_least("2.10"):
        raise BadRequest("Additional properties are not allowed ('user_id' was unexpected)")
    ctx, user_id = _owner(request, "os_compute_api:os-keypairs:create", body.user_id)
    _check_name(body.name)
    pool = store(request).pool
    allowed = (await limits(pool, ctx.project_id or ""))["key_pairs"]
    if 0 <= allowed <= await count(pool, Keypair, "user_id = $1", user_id):
        raise OverQuota("Quota exceeded, too many key pairs.")
    duplicate = f"Key pair '{body.name}' already exists."
    if await count(pool, Keypair, "user_id = $1 AND name = $2", user_id, body.name):
        raise Conflict(duplicate)
    key_type = body.type or "ssh"
    made = await material(body, key_type, user_id)
    keypair_id = new_uuid(request)
    created = ev.KeypairCreated(
        keypair_id=keypair_id, user_id=user_id, name=body.name, public_key=made.public_key,
        fingerprint=made.fingerprint, type=key_type,
    )  # fmt: skip
    await record(request, f"keypair-{keypair_id}", [created], NO_STREAM, conflict=duplicate)
    view: dict[str, Any] = {
        "fingerprint": made.fingerprint, "name": body.name, "public_key": made.public_key,
        "user_id": user_id,
    }  # fmt: skip
    if made.private_key is not None:
        view["private_key"] = made.private_key
    status = 201 if version.at_least("2.2") else 200
    return json_response({"keypair": _typed(request, view, key_type)}, status=status)


@ROUTES.get("/v2.1/os-keypairs")
async def list_keypairs(request: web.Request) -> web.Response:
    _, user_id = _owner(request, "os_compute_api:os-keypairs:index", request.query.get("user_id"))
    keypairs = await select(store(request).pool, Keypair, "user_id = $1", user_id)
    paged = version_of(request).at_least("2.35")
    if paged:  # by name, in pages (`limit`, `marker`: a name) from 2.35
        keypairs = paging.page(request, sorted(keypairs, key=_name), _name)
    items = [
        {
            "keypair": _typed(
                request,
                {"name": k.name, "public_key": k.public_key, "fingerprint": k.fingerprint},
                k.type,
            )
        }
        for k in keypairs
    ]
    links = paging.next_link(request, keypairs, _name) if paged else []
    return json_response({"keypairs": items} | ({"keypairs_links": links} if links else {}))


def _name(keypair: Keypair) -> str:
    return keypair.name


async def _keypair(request: web.Request, action: str) -> Keypair:
    """The keypair named in the path, of the caller (or the user named from 2.10) once
    `action` is allowed; NotFound (404) if that user has none of that name."""
    _, user_id = _owner(request, action, request.query.get("user_id"))
    name = request.match_info["name"]
    found = await select(store(request).pool, Keypair, "user_id = $1 AND name = $2", user_id, name)
    if not found:
        raise NotFound(f"Keypair {name} not found for user {user_id}")
    return found[0]


def number(keypair: Keypair) -> int:
    """The integer id Nova shows (a database serial there; no client uses it): the first
    28 bits of the keypair's uuid."""
    return int(keypair.id.replace("-", "")[:7], 16)


def shown(keypair: Keypair, version: Microversion) -> dict[str, Any]:
    """`{"keypair": ...}` as Nova's GET /os-keypairs/{name} shows it at `version`."""
    view = {
        "public_key": keypair.public_key,
        "name": keypair.name,
        "fingerprint": keypair.fingerprint,
        "user_id": keypair.user_id,
        "deleted": False,
        "created_at": keypair.created_at.replace(tzinfo=None).isoformat(timespec="microseconds"),
        "updated_at": None,
        "deleted_at": None,
        "id": number(keypair),
    }
    return {"keypair": view | {"type": keypair.type} if version.at_least("2.2") else view}


@ROUTES.get("/v2.1/os-keypairs/{name}")
async def show_keypair(request: web.Request) -> web.Response:
    keypair = await _keypair(request, "os_compute_api:os-keypairs:show")
    return json_response(shown(keypair, version_of(request)))


@ROUTES.delete("/v2.1/os-keypairs/{name}")
async def delete_keypair(request: web.Request) -> web.Response:
    keypair = await _keypair(request, "os_compute_api:os-keypairs:delete")
    deleted = ev.KeypairDeleted(keypair_id=keypair.id, user_id=keypair.user_id, name=keypair.name)
    await record(request, f"keypair-{keypair.id}", [deleted])
    return web.Response(status=204 if version_of(request).at_least("2.2") else 202)
