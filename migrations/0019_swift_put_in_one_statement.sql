-- An object's new version and its read-model rows in one statement (issue 5).
--
-- A PUT's append was four round trips: BEGIN, append_events, the object's row and usage
-- slot (one statement since 0016), COMMIT; each costs the API process and Postgres about
-- as much CPU as the work it carries. swift_append_stored does the append and those rows
-- in one call, its own (implicit) transaction: one round trip. The store uses it only for
-- appends whose events no inline read model handles other than ObjectStored by the
-- objects model (events/postgres.py, Fused; service/objects/projection.py).
--
-- Nothing changes in what is written or when it is visible: the events and the rows
-- commit together, as before; the append is still the transaction's first write (the
-- rows are written after append_events returns). A write that needs its quota enforced
-- (it adds an object or bytes where the container or the account has a quota) is refused
-- here with KU101 before anything commits, and the caller makes it in a transaction of
-- its own instead, where service/objects/quota.py takes its locks and counts.

-- The live write of one ObjectStored event to the objects model, in the append's
-- transaction: the row of its object's current version (what service/objects/fold.py's
-- stored_object makes of the event, here read from the event's JSON) and its name's usage
-- slot (migration 0016). The replaced row is read first: only appends to the object's
-- stream write it, and the append holds that stream's lock until it commits. Returns
-- whether the write added an object, and whether it needs a quota enforced: it added an
-- object or bytes, and its container or account has a quota (any of `p_container_keys`
-- / `p_account_keys` in their metadata). A missing container is a foreign_key_violation,
-- from the row's key or here when it has no slot.
CREATE FUNCTION swift_store_object(
    p_data jsonb, p_version bigint, p_at timestamptz, p_container_keys text[],
    p_account_keys text[], OUT new_object boolean, OUT quoted boolean
) LANGUAGE plpgsql AS $$
DECLARE
    v_project   text := p_data->>'project_id';
    v_container text := p_data->>'container';
    v_name      text := p_data->>'object';
    v_size      bigint := (p_data->>'size')::bigint;
    v_old_size  bigint;
BEGIN
    SELECT o.size INTO v_old_size FROM rm_swift_objects o
     WHERE o.project_id = v_project AND o.container = v_container AND o.name = v_name;
    new_object := NOT FOUND;
    INSERT INTO rm_swift_objects AS o (project_id, container, name, version_id, stream_version,
                                      size, etag, content_type, metadata, large_object,
                                      delete_at, created_at, last_modified)
    VALUES (v_project, v_container, v_name, p_data->>'version_id', p_version, v_size,
            p_data->>'etag', p_data->>'content_type', p_data->'metadata',
            p_data->>'large_object', (p_data->>'delete_at')::bigint, p_at, p_at)
    ON CONFLICT (project_id, container, name) DO UPDATE
       SET version_id = excluded.version_id, stream_version = excluded.stream_version,
           size = excluded.size, etag = excluded.etag, content_type = excluded.content_type,
           metadata = excluded.metadata, large_object = excluded.large_object,
           delete_at = excluded.delete_at, created_at = excluded.created_at,
           last_modified = excluded.last_modified;
    UPDATE rm_swift_container_slots s
       SET object_count = s.object_count + new_object::int,
           bytes_used = s.bytes_used + v_size - coalesce(v_old_size, 0)
     WHERE s.project_id = v_project AND s.container = v_container
       AND s.slot = swift_usage_slot(v_name);
    IF NOT FOUND THEN
        RAISE foreign_key_violation USING
            MESSAGE = format('container %L of %s does not exist', v_container, v_project);
    END IF;
    quoted := (new_object OR v_size > coalesce(v_old_size, 0)) AND (
        EXISTS (SELECT FROM rm_swift_containers c
                 WHERE c.project_id = v_project AND c.name = v_container
                   AND c.metadata ?| p_container_keys)
        OR EXISTS (SELECT FROM rm_swift_accounts a
                    WHERE a.project_id = v_project AND a.metadata ?| p_account_keys));
END;
$$;

-- append_events (migrations 0001, 0007) with its arguments, then swift_store_object for
-- each ObjectStored event it appended (none for a replayed command: its first append
-- wrote them), in one statement; append_events' rows, in position order. KU101 when a
-- write needs its quota enforced (see above): nothing is written. An append may carry
-- several requests' objects (service/objects/batch.py): their rows are written in the
-- order of their usage slots, which every such append locks in the same order, so two of
-- them never wait for each other's slots in a cycle.
CREATE FUNCTION swift_append_stored(
    p_streams text[], p_expected bigint[], p_stream_index integer[],
    p_event_ids uuid[], p_types text[], p_schema_versions integer[],
    p_data jsonb[], p_metadata jsonb[], p_recorded_at timestamptz, p_command_id uuid,
    p_container_keys text[], p_account_keys text[]
) RETURNS TABLE (event_position bigint, event_stream_id text, event_version bigint, replayed boolean)
LANGUAGE plpgsql AS $$
DECLARE
    v_versions bigint[] := '{}';
    v_replayed boolean := false;
    v_i        integer;
    v_stored   record;
BEGIN
    -- Positions follow the events' order (append_events takes them in one run), so the
    -- i-th row by position is the i-th event.
    FOR event_position, event_stream_id, event_version, replayed IN
        SELECT * FROM append_events(p_streams, p_expected, p_stream_index, p_event_ids,
                                    p_types, p_schema_versions, p_data, p_metadata,
                                    p_recorded_at, p_command_id) ORDER BY 1
    LOOP
        v_versions := v_versions || event_version;
        v_replayed := replayed;
        RETURN NEXT;
    END LOOP;
    IF v_replayed THEN
        RETURN;
    END IF;
    FOR v_i IN
        SELECT i FROM generate_subscripts(p_types, 1) AS i
         WHERE p_types[i] = 'ObjectStored'
         ORDER BY p_data[i]->>'project_id', p_data[i]->>'container',
                  swift_usage_slot(p_data[i]->>'object'), i
    LOOP
        SELECT * INTO v_stored FROM swift_store_object(p_data[v_i], v_versions[v_i],
                                                       p_recorded_at, p_container_keys,
                                                       p_account_keys);
        IF v_stored.quoted THEN
            RAISE EXCEPTION 'the write into %/% needs its quota enforced',
                p_data[v_i]->>'project_id', p_data[v_i]->>'container'
                USING ERRCODE = 'KU101';
        END IF;
    END LOOP;
END;
$$;
