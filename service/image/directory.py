"""Reading the image catalog: typed rows, what a caller may see, and pages of a listing."""

from datetime import datetime
from typing import Any

import msgspec

from service.auth import AuthContext


class Image(msgspec.Struct, frozen=True):
    id: str
    version: int
    name: str | None
    status: str
    visibility: str
    protected: bool
    os_hidden: bool
    owner: str | None
    container_format: str | None
    disk_format: str | None
    min_disk: int
    min_ram: int
    size: int | None
    virtual_size: int | None
    checksum: str | None
    os_hash_algo: str | None
    os_hash_value: str | None
    location: str | None
    stores: list[str]
    tags: list[str]
    properties: dict[str, str]
    created_at: datetime
    updated_at: datetime


class Member(msgspec.Struct, frozen=True):
    image_id: str
    member_id: str
    status: str
    created_at: datetime
    updated_at: datetime


COLUMNS = ", ".join(f"i.{name}" for name in Image.__struct_fields__)


def _image(row: Any) -> Image:
    record = dict(row)
    record["properties"] = msgspec.json.decode(record["properties"])
    return msgspec.convert(record, Image)


def visible(ctx: AuthContext, first_arg: int) -> tuple[str, list[Any]]:
    """A condition on `rm_images i` true for the images `ctx` may see (show, download):
    all for an admin; its project's own; public and community ones; shared ones its
    project is a member of, whatever the member status. Arguments are numbered from
    `first_arg`."""
    if ctx.is_admin:
        return "true", []
    p = f"${first_arg}"
    return (
        f"(i.owner = {p} OR i.visibility IN ('public', 'community') OR (i.visibility = 'shared'"
        f" AND EXISTS (SELECT 1 FROM rm_image_members m WHERE m.image_id = i.id"
        f" AND m.member_id = {p})))",
        [ctx.project_id],
    )


async def get_image(db: Any, image_id: str) -> Image | None:
    """The image with that id, whoever may see it, or None."""
    row = await db.fetchrow(f"SELECT {COLUMNS} FROM rm_images i WHERE i.id = $1", image_id)
    return None if row is None else _image(row)


async def visible_image(db: Any, ctx: AuthContext, image_id: str) -> Image | None:
    """The image if `ctx` may see it, else None (as if it did not exist)."""
    where, args = visible(ctx, 2)
    row = await db.fetchrow(
        f"SELECT {COLUMNS} FROM rm_images i WHERE i.id = $1 AND {where}", image_id, *args
    )
    return None if row is None else _image(row)


async def page(
    db: Any, where: str, args: list[Any], order: str, limit: int, marker: str | None
) -> list[Image]:
    """Up to `limit` images matching `where` in `order`, after the `marker` image if given
    (the marker is placed in the order by its own values, matching `where` or not)."""
    if marker is None:
        rows = await db.fetch(
            f"SELECT {COLUMNS} FROM rm_images i WHERE {where} ORDER BY {order}"
            f" LIMIT ${len(args) + 1}",
            *args, limit,
        )  # fmt: skip
        return [_image(r) for r in rows]
    m, n = len(args) + 1, len(args) + 2
    rows = await db.fetch(
        f"WITH ordered AS (SELECT {COLUMNS}, row_number() OVER (ORDER BY {order}) AS rn"
        f" FROM rm_images i WHERE ({where}) OR i.id = ${m})"
        f" SELECT * FROM ordered WHERE rn > (SELECT rn FROM ordered WHERE id = ${m})"
        f" ORDER BY rn LIMIT ${n}",
        *args, marker, limit,
    )  # fmt: skip
    return [_image({k: v for k, v in r.items() if k != "rn"}) for r in rows]


async def members(db: Any, image_id: str) -> list[Member]:
    """The image's members, oldest first."""
    rows = await db.fetch(
        "SELECT image_id, member_id, status, created_at, updated_at FROM rm_image_members"
        " WHERE image_id = $1 ORDER BY created_at, member_id",
        image_id,
    )
    return [msgspec.convert(dict(r), Member) for r in rows]


async def member(db: Any, image_id: str, member_id: str) -> Member | None:
    """One member of the image, or None."""
    row = await db.fetchrow(
        "SELECT image_id, member_id, status, created_at, updated_at FROM rm_image_members"
        " WHERE image_id = $1 AND member_id = $2",
        image_id,
        member_id,
    )
    return None if row is None else msgspec.convert(dict(row), Member)
