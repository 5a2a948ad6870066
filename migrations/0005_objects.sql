-- Object storage read models (inline projection "objects", service/objects/projection.py).
-- Names compare as UTF-8 bytes (COLLATE "C"), the order Swift lists them in.

-- Swift accounts: one per project, created by the first metadata change.
CREATE TABLE rm_swift_accounts (
    project_id   text        PRIMARY KEY,
    metadata     jsonb       NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);

-- Containers with their metadata (lower-case header names) and usage counters.
CREATE TABLE rm_swift_containers (
    project_id    text COLLATE "C" NOT NULL,
    name          text COLLATE "C" NOT NULL,
    metadata      jsonb       NOT NULL DEFAULT '{}',
    object_count  bigint      NOT NULL DEFAULT 0,
    bytes_used    bigint      NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    PRIMARY KEY (project_id, name)
);

-- The current version of each object. The foreign key makes the database refuse an
-- object in a missing container and the deletion of a container that holds objects.
CREATE TABLE rm_swift_objects (
    project_id      text COLLATE "C" NOT NULL,
    container       text COLLATE "C" NOT NULL,
    name            text COLLATE "C" NOT NULL,
    version_id      text        NOT NULL,
    stream_version  bigint      NOT NULL,
    size            bigint      NOT NULL,
    etag            text        NOT NULL,
    content_type    text        NOT NULL,
    metadata        jsonb       NOT NULL DEFAULT '{}',
    large_object    text        NOT NULL DEFAULT '',
    delete_at       bigint,
    created_at      timestamptz NOT NULL,
    last_modified   timestamptz NOT NULL,
    PRIMARY KEY (project_id, container, name),
    FOREIGN KEY (project_id, container) REFERENCES rm_swift_containers (project_id, name)
);
CREATE INDEX rm_swift_objects_delete_at_idx ON rm_swift_objects (delete_at)
    WHERE delete_at IS NOT NULL;
