"""Swift's object versioning (X-Versions-Enabled): which containers keep versions, and
the header and query parameter naming one.

A container whose `x-versions-enabled` metadata is `True` keeps every version its
objects' writes replace or delete (service/objects/fold.py, kept); `False` suspends
that, keeping the versions it has. The legacy modes (X-Versions-Location,
X-History-Location) are service/objects/api/writes.py's, and a container has one or
the other.
"""

from collections.abc import Mapping

from service.errors import BadRequest

ENABLED = "x-versions-enabled"
VERSION_ID = "version-id"
"""The query parameter naming one version."""
LEGACY = ("x-versions-location", "x-history-location")


def enabled(metadata: Mapping[str, str]) -> bool:
    """Whether the container's versioning is enabled."""
    return metadata.get(ENABLED) == "True"


def configured(metadata: Mapping[str, str]) -> bool:
    """Whether the container's versioning was ever set (enabled or suspended)."""
    return ENABLED in metadata


def flag(value: str) -> str:
    """`True` or `False` (as Swift shows it) for a header's value, read as Swift's
    config_true_value reads it."""
    return "True" if value.strip().lower() in ("true", "1", "yes", "on", "t", "y") else "False"


def check(metadata: Mapping[str, str]) -> None:
    """Raises BadRequest when a container's metadata would have both kinds of versioning."""
    if enabled(metadata) and any(legacy in metadata for legacy in LEGACY):
        raise BadRequest(
            "Cannot enable object versioning on a container that is already using the"
            " legacy versioned writes feature."
        )
