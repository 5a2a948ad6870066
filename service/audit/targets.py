"""What an audited request acted on, when it appended nothing that says so.

A request that changed something names its target by the first stream it appended to
(service/audit/middleware.py). One that failed or was refused names it by its path:
the first resource the path names after the API's version, e.g. `server` and its id
for `/compute/v2.1/servers/<id>/action`, typed by the stream category Kumo records
such resources in. Swift paths name the account, container or object by its stream, and
so do S3 paths (a bucket is a container of the credential's project).
"""

import re
from collections.abc import Mapping

from service.audit.events import Target
from service.objects.naming import account_stream, container_stream, object_stream

_VERSION = re.compile(r"v\d+(\.\d+)?")
_CATEGORIES = {
    "auth": "token",
    "application_credentials": "appcred",
    "os-keypairs": "keypair",
    "os-security-groups": "secgroup",
    "security-groups": "secgroup",
    "os-server-groups": "servergroup",
    "os-quota-sets": "quota",
    "os-services": "host",
}


def path_target(
    api: str, prefix: str, path: str, pattern: str | None, values: Mapping[str, str]
) -> Target:
    """The target named by a request's `path` under the API's `prefix`; `pattern` is the
    matched route's pattern (None when no route matched) and `values` its parameters."""
    if api in ("object", "s3"):
        return _swift_target(values)
    segments = _after_version(path.removeprefix(prefix))
    if not segments:
        return Target(type=api)
    collection = segments[0]
    kind = _CATEGORIES.get(collection, collection.removeprefix("os-").removesuffix("s"))
    names_item = pattern is not None and len(segments) > 1 and _is_param(pattern, prefix)
    return Target(type=kind, id=segments[1] if names_item else None)


def _after_version(path: str) -> list[str]:
    parts = [p for p in path.split("/") if p]
    return parts[1:] if parts and _VERSION.fullmatch(parts[0]) else parts


def _is_param(pattern: str, prefix: str) -> bool:
    """Whether the route pattern's second segment after the version is a parameter."""
    parts = _after_version(pattern.removeprefix(prefix))
    return len(parts) > 1 and parts[1].startswith("{")


def _swift_target(values: Mapping[str, str]) -> Target:
    project = values.get("project_id")
    if project is None:
        return Target(type="swiftaccount")
    container, name = values.get("container"), values.get("object")
    if container is not None and name is not None:
        stream = object_stream(project, container, name)
    elif container is not None:
        stream = container_stream(project, container)
    else:
        stream = account_stream(project)
    category, _, resource_id = stream.partition("-")
    return Target(type=category, id=resource_id, project_id=project)
