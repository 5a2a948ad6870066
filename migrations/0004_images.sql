-- Image read models (inline projection "images", service/image/projection.py).
-- Only that projection writes these tables. Deleted images leave no row: their
-- streams stay in the log, which is why an id is never reused.

CREATE TABLE rm_images (
    id                text PRIMARY KEY,
    version           bigint NOT NULL,            -- the stream version the row reflects
    name              text,
    status            text NOT NULL,
    visibility        text NOT NULL,
    protected         boolean NOT NULL DEFAULT false,
    os_hidden         boolean NOT NULL DEFAULT false,
    owner             text,
    container_format  text,
    disk_format       text,
    min_disk          integer NOT NULL DEFAULT 0,
    min_ram           integer NOT NULL DEFAULT 0,
    size              bigint,
    virtual_size      bigint,
    checksum          text,
    os_hash_algo      text,
    os_hash_value     text,
    location          text,                       -- the object backend key of the bytes
    tags              text[] NOT NULL DEFAULT '{}',
    properties        jsonb NOT NULL DEFAULT '{}',
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL
);
CREATE INDEX rm_images_owner_idx ON rm_images (owner);
CREATE INDEX rm_images_visibility_idx ON rm_images (visibility);
CREATE INDEX rm_images_created_idx ON rm_images (created_at DESC, id DESC);

CREATE TABLE rm_image_members (
    image_id    text NOT NULL,
    member_id   text NOT NULL,
    status      text NOT NULL CHECK (status IN ('pending', 'accepted', 'rejected')),
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (image_id, member_id)
);
CREATE INDEX rm_image_members_member_idx ON rm_image_members (member_id, status);
