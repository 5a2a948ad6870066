"""Names in object storage: validation, event stream ids and backend keys."""

import uuid

from service.errors import BadRequest

MAX_CONTAINER_NAME_BYTES = 256
MAX_OBJECT_NAME_BYTES = 1024
_STREAMS = uuid.UUID("5b0c1f0e-7d1a-4f43-9a55-6b7e2f1d0c01")


def check_container_name(name: str) -> None:
    """Raises BadRequest for a container name Swift refuses: empty, with `/`, too long."""
    if not name or "/" in name:
        raise BadRequest("Container name must not be empty or contain '/'.")
    if len(name.encode()) > MAX_CONTAINER_NAME_BYTES:
        raise BadRequest(f"Container name length of {len(name.encode())} longer than 256")


def check_object_name(name: str) -> None:
    """Raises BadRequest for an empty or over-long object name."""
    if not name:
        raise BadRequest("Object name must not be empty.")
    if len(name.encode()) > MAX_OBJECT_NAME_BYTES:
        raise BadRequest(f"Object name length of {len(name.encode())} longer than 1024")


def account_stream(project_id: str) -> str:
    return f"swiftaccount-{project_id}"


def container_stream(project_id: str, container: str) -> str:
    return f"container-{uuid.uuid5(_STREAMS, f'{project_id}/{container}')}"


def object_stream(project_id: str, container: str, name: str) -> str:
    return f"object-{uuid.uuid5(_STREAMS, f'{project_id}/{container}/{name}')}"


def blob_key(project_id: str, container: str, name: str, version_id: str) -> str:
    """Where the bytes of one version of an object live in the backend."""
    return f"objects/{project_id}/{container}/{name}/{version_id}"


def split_path(path: str) -> tuple[str, str]:
    """("container", "object") of "container/object" (a leading `/` is allowed);
    raises BadRequest (412 in Swift's words for copies) when either part is missing."""
    container, _, name = path.lstrip("/").partition("/")
    if not container or not name:
        raise BadRequest(f"Invalid path {path!r}: it must be <container>/<object>.")
    return container, name
