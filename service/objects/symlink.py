"""Symlinks, as Swift's symlink middleware: an empty object PUT with `X-Symlink-Target:
<container>/<object>` (and `X-Symlink-Target-Account: AUTH_<project>` for another
account) that GET, HEAD and copies follow to its target, through at most SYMLOOP_MAX
links. With `X-Symlink-Target-Etag` it is static: its target must exist with that etag
when it is made and still have it when it is read (409 otherwise).

The target is kept in the object's metadata under Swift's system names, which no
request header sets and no answer shows but `?symlink=get`'s.
"""

from collections.abc import Mapping
from urllib.parse import quote, unquote

import msgspec

from service.errors import BadRequest, PreconditionFailed

SYMLOOP_MAX = 2
"""How many links a read follows (Swift's default)."""
TARGET = "x-object-sysmeta-symlink-target"
TARGET_ACCOUNT = "x-object-sysmeta-symlink-target-account"
TARGET_ETAG = "x-object-sysmeta-symlink-target-etag"
TARGET_BYTES = "x-object-sysmeta-symlink-target-bytes"
SYSTEM = (TARGET, TARGET_ACCOUNT, TARGET_ETAG, TARGET_BYTES)
REQUEST_HEADERS = ("X-Symlink-Target", "X-Symlink-Target-Account", "X-Symlink-Target-Etag")
_FORM = "X-Symlink-Target header must be of the form <container name>/<object name>"


class Target(msgspec.Struct, frozen=True):
    """Where a symlink leads, and the etag a static one expects there."""

    project_id: str
    container: str
    name: str
    etag: str | None = None

    @property
    def swift_path(self) -> str:
        """`/v1/AUTH_<project>/<container>/<object>`, quoted, as Swift names it."""
        return f"/v1/AUTH_{self.project_id}/{quote(self.container)}/{quote(self.name)}"


def requested(headers: Mapping[str, str], project_id: str, container: str, name: str) -> Target:
    """The target a symlink PUT names (it has X-Symlink-Target). Raises
    PreconditionFailed for a malformed target, BadRequest for the object itself, an
    account not of the AUTH_<project> form, or a malformed etag."""
    container_name, slash, object_name = unquote(headers["X-Symlink-Target"]).partition("/")
    if not (container_name and slash and object_name):
        raise PreconditionFailed(_FORM)
    account = unquote(headers.get("X-Symlink-Target-Account", f"AUTH_{project_id}"))
    if not account.startswith("AUTH_") or "/" in account or len(account) == len("AUTH_"):
        raise BadRequest("X-Symlink-Target-Account must be AUTH_<project id>")
    target_project = account.removeprefix("AUTH_")
    if (target_project, container_name, object_name) == (project_id, container, name):
        raise BadRequest("Symlink cannot target itself")
    etag = headers.get("X-Symlink-Target-Etag")
    if etag is not None:
        etag = etag.strip().strip('"')
        if not etag or any(c in etag for c in ';"\\'):
            raise BadRequest("Bad X-Symlink-Target-Etag format")
    return Target(target_project, container_name, object_name, etag)


def target_of(metadata: Mapping[str, str]) -> Target | None:
    """Where an object leads, if it is a symlink."""
    path = metadata.get(TARGET)
    if path is None:
        return None
    container, _, name = path.partition("/")
    account = metadata[TARGET_ACCOUNT]
    return Target(account.removeprefix("AUTH_"), container, name, metadata.get(TARGET_ETAG))


def stored(target: Target, target_bytes: int | None = None) -> dict[str, str]:
    """The metadata that makes an object a symlink to `target` (a static one also keeps
    its target's size, for listings)."""
    metadata = {
        TARGET: f"{target.container}/{target.name}",
        TARGET_ACCOUNT: f"AUTH_{target.project_id}",
    }
    if target.etag is not None:
        metadata[TARGET_ETAG] = target.etag
        metadata[TARGET_BYTES] = str(target_bytes or 0)
    return metadata


def headers_of(metadata: Mapping[str, str]) -> dict[str, str]:
    """X-Symlink-Target (quoted), -Account, and a static one's -Etag and -Bytes, as a
    `?symlink=get` shows a symlink; nothing for another object."""
    if TARGET not in metadata:
        return {}
    headers = {
        "X-Symlink-Target": quote(metadata[TARGET]),
        "X-Symlink-Target-Account": metadata[TARGET_ACCOUNT],
    }
    if TARGET_ETAG in metadata:
        headers["X-Symlink-Target-Etag"] = metadata[TARGET_ETAG]
        headers["X-Symlink-Target-Bytes"] = metadata[TARGET_BYTES]
    return headers


def listed(metadata: Mapping[str, str]) -> dict[str, object]:
    """What a JSON listing adds for a symlink: symlink_path, and a static one's
    symlink_etag and symlink_bytes."""
    target = target_of(metadata)
    if target is None:
        return {}
    entry: dict[str, object] = {"symlink_path": target.swift_path}
    if target.etag is not None:
        entry["symlink_etag"] = target.etag
        entry["symlink_bytes"] = int(metadata[TARGET_BYTES])
    return entry
