"""Glance's check of an image's content against its `disk_format`, when the cloud asks
for it (KUMO_IMAGE_FORMAT_ENFORCEMENT; Glance's [image_format]
require_image_format_match). Off by default: Tempest's interop tests upload arbitrary
bytes as qcow2 and raw. The compute host checks every image before it boots it either
way (service/compute/image_check.py); this check refuses a lying image when its bytes
arrive, by upload, glance-direct or web-download.
"""

from aiohttp import web

from service.errors import BadRequest
from service.http.keys import SETTINGS
from service.http.recording import store
from service.image import formats
from service.image.directory import Image, get_image
from service.image.events import ImageActivated
from service.image.stores import IMAGE_STORES, ImageStores

INSPECTED = frozenset({"raw", "qcow2", "vmdk", "vhd", "vhdx", "vdi", "iso"})
"""The disk_formats whose content `formats.inspect` recognises; others (ami, aki, ari,
ploop) are checked for safety only."""


async def content_problem(
    images: ImageStores, image: Image, activation: ImageActivated
) -> str | None:
    """Why the bytes stored for the activation may not make `image` active (unsafe to
    open, or not its disk_format), or None."""
    seen = formats.inspect(await _head(images, activation))
    if seen.unsafe is not None:
        return f"Image {image.id} does not pass the safety check: {seen.unsafe}."
    declared = image.disk_format or ""
    if declared in INSPECTED and seen.format != declared:
        return f"Image content does not match disk_format {declared}: it is {seen.format}."
    return None


async def _head(images: ImageStores, activation: ImageActivated) -> bytes:
    """The image's first HEAD_BYTES (none of an empty image, which no range can ask)."""
    if activation.size == 0:
        return b""
    last = formats.HEAD_BYTES - 1
    async with await images.reader(
        activation.location, activation.stores, byte_range=(0, last)
    ) as reader:
        return b"".join([chunk async for chunk in reader])


async def check_content(request: web.Request, activation: ImageActivated) -> None:
    """400 with `content_problem`'s reason, when enforcement is on."""
    if not request.config_dict[SETTINGS].image_format_enforcement:
        return
    image = await get_image(store(request).pool, activation.image_id)
    if image is None:
        return  # deleted meanwhile: the activation reports it
    problem = await content_problem(request.config_dict[IMAGE_STORES], image, activation)
    if problem is not None:
        raise BadRequest(problem)
