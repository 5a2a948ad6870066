-- Glance's metadata definitions (inline projection "metadefs",
-- service/image/metadefs/projection.py). Only that projection writes these tables.
-- A namespace's objects, properties, tags and resource type associations are JSON
-- columns of its row: they are read and written with it, never on their own.

CREATE TABLE rm_metadef_namespaces (
    id              text PRIMARY KEY,            -- the stream's uuid, never shown
    version         bigint NOT NULL,             -- the stream version the row reflects
    namespace       text NOT NULL UNIQUE,        -- the name the API knows it by
    display_name    text,
    description     text,
    visibility      text NOT NULL CHECK (visibility IN ('public', 'private')),
    protected       boolean NOT NULL,
    owner           text,
    objects         jsonb NOT NULL,              -- [{name, description, required, properties, created_at, updated_at}]
    properties      jsonb NOT NULL,              -- {name: property schema}
    tags            jsonb NOT NULL,              -- [{name, created_at, updated_at}]
    resource_types  jsonb NOT NULL,              -- [{name, prefix, properties_target, created_at, updated_at}]
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX rm_metadef_namespaces_owner_idx ON rm_metadef_namespaces (owner);
CREATE INDEX rm_metadef_namespaces_created_idx ON rm_metadef_namespaces (created_at DESC, id DESC);

CREATE TABLE rm_metadef_resource_types (
    name        text PRIMARY KEY,
    protected   boolean NOT NULL,                -- seeded by Kumo rather than made by an association
    position    bigint NOT NULL,                 -- of its creation in the log: the list's order
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
