"""Object storage shared by images and object storage: the ObjectBackend seam.

Implementations live in `localfs` and `s3`; import the one the configuration names.
"""

from service.storage.backend import (
    ALL_HASHES,
    BackendUnavailable,
    ChecksumMismatch,
    Hashes,
    HashName,
    InvalidKey,
    ObjectBackend,
    ObjectNotFound,
    ObjectReader,
    RangeNotSatisfiable,
    StorageError,
    StoredObject,
)

__all__ = [
    "ALL_HASHES",
    "BackendUnavailable",
    "ChecksumMismatch",
    "HashName",
    "Hashes",
    "InvalidKey",
    "ObjectBackend",
    "ObjectNotFound",
    "ObjectReader",
    "RangeNotSatisfiable",
    "StorageError",
    "StoredObject",
]
