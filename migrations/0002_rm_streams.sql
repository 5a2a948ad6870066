-- rm_streams: every stream of the log, with where it stands (async projection "streams").
CREATE TABLE rm_streams (
    stream_id        text        PRIMARY KEY,
    category         text        NOT NULL,
    version          bigint      NOT NULL,
    first_position   bigint      NOT NULL,
    last_position    bigint      NOT NULL,
    last_type        text        NOT NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);
CREATE INDEX rm_streams_category_updated_idx ON rm_streams (category, updated_at DESC);
