"""Object storage shared by images and object storage: the ObjectBackend seam.

Implementations live in `localfs` and `s3`; import the one the configuration names.
"""

from service.storage.backend import (
    BackendUnavailable,
    ChecksumMismatch,
    Hashes,
    InvalidKey,
    ObjectBackend,
    ObjectNotFound,
    ObjectReader,
    RangeNotSatisfiable,
    StorageError,
    StoredObject,
)

__all__ = [
    "BackendUnavailable",
    "ChecksumMismatch",
    "Hashes",
    "InvalidKey",
    "ObjectBackend",
    "ObjectNotFound",
    "ObjectReader",
    "RangeNotSatisfiable",
    "StorageError",
    "StoredObject",
]
