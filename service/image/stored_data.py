"""What an image records of its bytes once the object backend has stored them."""

from service.image.events import DEFAULT_STORE, ImageActivated, ImageStaged
from service.storage import HashName, StoredObject

IMAGE_HASHES: tuple[HashName, ...] = ("md5", "sha512")
"""The hashes to ask a put for: Glance's `checksum` (md5) and `os_hash_value` (sha512)."""


def activated(
    image_id: str, stored: StoredObject, stores: tuple[str, ...] = (DEFAULT_STORE,)
) -> ImageActivated:
    """The image becomes `active` with the bytes a put of IMAGE_HASHES stored in `stores`."""
    md5, sha512 = _hashes(stored)
    return ImageActivated(
        image_id=image_id,
        location=stored.key,
        size=stored.size,
        checksum=md5,
        os_hash_algo="sha512",
        os_hash_value=sha512,
        stores=stores,
    )


def staged(image_id: str, stored: StoredObject) -> ImageStaged:
    """The image's staged bytes, stored by a put of IMAGE_HASHES."""
    md5, sha512 = _hashes(stored)
    return ImageStaged(
        image_id=image_id,
        location=stored.key,
        size=stored.size,
        checksum=md5,
        os_hash_algo="sha512",
        os_hash_value=sha512,
    )


def _hashes(stored: StoredObject) -> tuple[str, str]:
    """(md5, sha512); ValueError if the put was not asked for IMAGE_HASHES."""
    hashes = stored.hashes
    if hashes is None or hashes.sha512 is None:
        raise ValueError(f"the put of {stored.key!r} did not compute {IMAGE_HASHES}")
    return hashes.md5, hashes.sha512
