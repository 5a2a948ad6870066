"""Credentials' blobs: sealed with the credential keys before they reach the log, opened
for their owner; and the rules of EC2 blobs (a JSON object with an `access` key, whose
SHA-256 is the credential's id, as Keystone makes it)."""

import hashlib
import json
from typing import Any

from service.errors import BadRequest
from service.identity.directory import Credential
from service.identity.fernet_keys import KeyRing
from service.identity.views import v3

EC2 = "ec2"


def seal(keys: KeyRing, blob: str, at_time: int) -> str:
    """The blob encrypted with the primary credential key."""
    return keys.encrypt(blob.encode(), at_time).decode()


def unseal(keys: KeyRing, credential: Credential) -> str:
    """The credential's blob in clear (see `unseal_text`)."""
    return unseal_text(keys, credential.encrypted_blob, f"credential {credential.id}")


def unseal_text(keys: KeyRing, sealed: str, what: str) -> str:
    """What `seal` sealed, in clear; RuntimeError if no credential key opens it (the key
    folder lost the key it was sealed with)."""
    opened = keys.decrypt(sealed.encode())
    if opened is None:
        raise RuntimeError(f"no credential key opens {what}")
    return opened.decode()


def ec2_blob(blob: str) -> dict[str, Any]:
    """An EC2 credential's blob as an object; 400 unless it is JSON with an access key."""
    try:
        parsed = json.loads(blob)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("access"), str):
        raise BadRequest("Invalid blob in credential: an ec2 blob is JSON with an access key.")
    return parsed


SCOPE_KEYS = ("trust_id", "app_cred_id", "access_token_id", "access_id")
"""What an EC2 blob may say it is limited to; an update cannot change it."""


def check_ec2_scope_kept(before: dict[str, Any], after: dict[str, Any]) -> None:
    """400 if an update of an EC2 blob changes what the credential is limited to (its
    keys may change; its id stays the hash of the first access key, as in Keystone)."""
    for key in SCOPE_KEYS:
        if before.get(key) != after.get(key):
            raise BadRequest(f"{key} cannot be updated for a credential.")


def ec2_id(access: str) -> str:
    """The id of the EC2 credential with this access key."""
    return hashlib.sha256(access.encode()).hexdigest()


def view(credential: Credential, blob: str, base_url: str) -> dict[str, Any]:
    """A credential as /v3/credentials shows it."""
    return {
        "id": credential.id,
        "user_id": credential.user_id,
        "project_id": credential.project_id,
        "type": credential.type,
        "blob": blob,
        "links": {"self": v3(base_url, f"credentials/{credential.id}")},
    }


def ec2_view(credential: Credential, blob: dict[str, Any], base_url: str) -> dict[str, Any]:
    """An EC2 credential as /v3/users/{id}/credentials/OS-EC2 shows it."""
    path = f"users/{credential.user_id}/credentials/OS-EC2/{blob['access']}"
    return {
        "user_id": credential.user_id,
        "tenant_id": credential.project_id,
        "access": blob["access"],
        "secret": blob.get("secret"),
        "trust_id": blob.get("trust_id"),
        "links": {"self": v3(base_url, path)},
    }
