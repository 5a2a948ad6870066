-- Swift's object versioning (X-Versions-Enabled, the versioned_writes middleware's newer
-- mode): noncurrent versions and delete markers (service/objects/fold.py, kept).
--
-- An object's current version stays in rm_swift_objects, now with whether it is
-- `versioned` (stored while its container's versioning was enabled). The versions it
-- replaced or that were deleted while kept, and the delete markers, are rows of
-- rm_swift_versions, ordered within an object by `sequence`: the object stream's version
-- of the event that made them noncurrent (a delete marker shares its event's, and is
-- the newer of the two). A container's usage slots count its current objects, and the
-- bytes of its current and noncurrent versions, as Swift's container HEAD does.

ALTER TABLE rm_swift_objects ADD COLUMN versioned boolean NOT NULL DEFAULT false;

CREATE TABLE rm_swift_versions (
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
    versioned       boolean     NOT NULL DEFAULT true,
    sequence        bigint      NOT NULL,
    marker          boolean     NOT NULL DEFAULT false,
    PRIMARY KEY (project_id, container, name, version_id),
    FOREIGN KEY (project_id, container) REFERENCES rm_swift_containers (project_id, name)
);
CREATE INDEX rm_swift_versions_order_idx
    ON rm_swift_versions (project_id, container, name, sequence DESC);

-- swift_store_object (migration 0019) keeping the version it replaces when either is
-- versioned: that row is copied to rm_swift_versions (without its expiry, as Swift keeps
-- versions) before it is overwritten, and its bytes stay counted. A write that adds an
-- object or bytes where there is a quota needs it enforced, as before. A new object's
-- unversioned version stored into a container whose versioning is enabled (a PUT that
-- did not read its container first: put_new in service/objects/api/writes.py) is refused
-- with KU102 before anything commits; its caller reads the container and stores it
-- versioned. The container's metadata is read, as before, only for a new object or more
-- bytes.
CREATE OR REPLACE FUNCTION swift_store_object(
    p_data jsonb, p_version bigint, p_at timestamptz, p_container_keys text[],
    p_account_keys text[], OUT new_object boolean, OUT quoted boolean
) LANGUAGE plpgsql AS $$
DECLARE
    v_project       text := p_data->>'project_id';
    v_container     text := p_data->>'container';
    v_name          text := p_data->>'object';
    v_size          bigint := (p_data->>'size')::bigint;
    v_versioned     boolean := coalesce((p_data->>'versioned')::boolean, false);
    v_old_size      bigint;
    v_old_versioned boolean;
    v_kept          boolean;
    v_added         bigint;
    v_metadata      jsonb;
BEGIN
    SELECT o.size, o.versioned INTO v_old_size, v_old_versioned FROM rm_swift_objects o
     WHERE o.project_id = v_project AND o.container = v_container AND o.name = v_name;
    new_object := NOT FOUND;
    v_kept := NOT new_object AND (v_versioned OR v_old_versioned);
    v_added := v_size - CASE WHEN v_kept THEN 0 ELSE coalesce(v_old_size, 0) END;
    IF new_object OR v_added > 0 THEN
        SELECT c.metadata INTO v_metadata FROM rm_swift_containers c
         WHERE c.project_id = v_project AND c.name = v_container;
    END IF;
    IF new_object AND NOT v_versioned AND v_metadata->>'x-versions-enabled' = 'True' THEN
        RAISE EXCEPTION 'the write into %/% must be versioned', v_project, v_container
            USING ERRCODE = 'KU102';
    END IF;
    IF v_kept THEN
        INSERT INTO rm_swift_versions (project_id, container, name, version_id,
                                       stream_version, size, etag, content_type, metadata,
                                       large_object, delete_at, created_at, last_modified,
                                       versioned, sequence, marker)
        SELECT o.project_id, o.container, o.name, o.version_id, o.stream_version, o.size,
               o.etag, o.content_type, o.metadata, o.large_object, NULL, o.created_at,
               o.last_modified, true, p_version, false
          FROM rm_swift_objects o
         WHERE o.project_id = v_project AND o.container = v_container AND o.name = v_name;
    END IF;
    INSERT INTO rm_swift_objects AS o (project_id, container, name, version_id, stream_version,
                                      size, etag, content_type, metadata, large_object,
                                      delete_at, created_at, last_modified, versioned)
    VALUES (v_project, v_container, v_name, p_data->>'version_id', p_version, v_size,
            p_data->>'etag', p_data->>'content_type', p_data->'metadata',
            p_data->>'large_object', (p_data->>'delete_at')::bigint, p_at, p_at, v_versioned)
    ON CONFLICT (project_id, container, name) DO UPDATE
       SET version_id = excluded.version_id, stream_version = excluded.stream_version,
           size = excluded.size, etag = excluded.etag, content_type = excluded.content_type,
           metadata = excluded.metadata, large_object = excluded.large_object,
           delete_at = excluded.delete_at, created_at = excluded.created_at,
           last_modified = excluded.last_modified, versioned = excluded.versioned;
    UPDATE rm_swift_container_slots s
       SET object_count = s.object_count + new_object::int,
           bytes_used = s.bytes_used + v_added
     WHERE s.project_id = v_project AND s.container = v_container
       AND s.slot = swift_usage_slot(v_name);
    IF NOT FOUND THEN
        RAISE foreign_key_violation USING
            MESSAGE = format('container %L of %s does not exist', v_container, v_project);
    END IF;
    quoted := (new_object OR v_added > 0) AND (
        coalesce(v_metadata ?| p_container_keys, false)
        OR EXISTS (SELECT FROM rm_swift_accounts a
                    WHERE a.project_id = v_project AND a.metadata ?| p_account_keys));
END;
$$;
