"""The images a server's disk is saved to: createImage (a snapshot) and createBackup (a
backup of a type, of which the host keeps the newest `rotation`). The API records the
image, queued, with the request; the host's reactor uploads the disk and activates it."""

from typing import Annotated, Any

import msgspec
from aiohttp import web
from msgspec import Meta

from events.store import StreamAppend
from service.auth import caller
from service.compute import events as ev
from service.compute.api.microversion import version_of
from service.compute.api.params import integer
from service.compute.api.servers import (
    MetaKey,
    MetaValue,
    refuse_busy,
    require_member,
    visible_server,
)
from service.errors import Forbidden
from service.http.body import converted, json_response
from service.http.recording import base_url, new_uuid, record_streams
from service.image import events as image_events

ImageName = Annotated[str, Meta(min_length=1, max_length=255, pattern=r"^\S(?:.*\S)?$")]
MAX_METADATA = 128
"""Nova's default metadata_items quota, which an image's metadata may not pass (up to 2.38)."""
SNAPSHOTTABLE = frozenset({"active", "stopped", "paused", "suspended"})


class NewImage(msgspec.Struct, forbid_unknown_fields=True):
    name: ImageName
    metadata: dict[MetaKey, MetaValue] = {}


class NewBackup(msgspec.Struct, forbid_unknown_fields=True):
    name: ImageName
    backup_type: str
    rotation: int | str
    metadata: dict[MetaKey, MetaValue] = {}


async def create_image(request: web.Request, server_id: str, body: Any) -> web.Response:
    """A snapshot of the server's disk as a new private image."""
    new = converted(body, NewImage)
    return await _save(request, server_id, "createImage", new.name, new.metadata, {})


async def create_backup(request: web.Request, server_id: str, body: Any) -> web.Response:
    """A backup of the server's disk; once it is stored, the server's backups of the same
    type past the newest `rotation` are deleted."""
    new = converted(body, NewBackup)
    rotation = integer("rotation", new.rotation, 0)
    backup = {"backup_type": new.backup_type, "rotation": rotation}
    return await _save(request, server_id, "createBackup", new.name, new.metadata, backup)


async def _save(
    request: web.Request,
    server_id: str,
    action: str,
    name: str,
    metadata: dict[str, str],
    backup: dict[str, Any],
) -> web.Response:
    """Record the image (queued) and the server's request to save its disk into it, in
    one append: 202 with the image's Location (its id in the body from 2.45)."""
    version = version_of(request)
    if len(metadata) > MAX_METADATA and not version.at_least("2.39"):
        raise Forbidden(f"Quota exceeded for metadata_items: limit is {MAX_METADATA}.")
    server = await visible_server(request, server_id)
    require_member(caller(request), server)
    refuse_busy(server, action, SNAPSHOTTABLE)
    image_id = new_uuid(request)
    kind = {"image_type": "backup", "backup_type": backup["backup_type"]} if backup else {}
    properties = {
        "image_type": "snapshot",
        "instance_uuid": server.id,
        "base_image_ref": server.image_id,
        "owner_user_name": caller(request).user_name,
    }
    created = image_events.ImageCreated(
        image_id=image_id,
        owner=server.project_id,
        name=name,
        visibility="private",
        container_format="bare",
        disk_format="qcow2",
        min_disk=server.flavor.disk,
        properties=properties | kind | metadata,
    )
    requested = ev.ServerActionRequested(
        server_id=server.id,
        action=action,
        task_state="image_backup" if backup else "image_snapshot",
        params={"image_id": image_id} | backup,
    )
    await record_streams(
        request,
        [
            StreamAppend(
                f"image-{image_id}",
                [created, image_events.ImageUploadStarted(image_id=image_id)],
                0,
            ),
            StreamAppend(f"server-{server.id}", [requested], server.version),
        ],
    )
    if version.at_least("2.45"):  # the image's id in the body, and no Location
        return json_response({"image_id": image_id}, status=202)
    location = f"{base_url(request)}/compute/v2.1/images/{image_id}"
    headers = {"Location": location}
    if backup and not backup["rotation"]:  # nothing will be left to point at (Nova's)
        headers = {}
    return web.Response(status=202, headers=headers)
