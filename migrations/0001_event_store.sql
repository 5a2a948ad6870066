-- The event log: one append-only table, a global position and per-stream versions.

CREATE SEQUENCE events_position_seq AS bigint;

CREATE TABLE events (
    position        bigint      PRIMARY KEY,
    transaction_id  xid8        NOT NULL DEFAULT pg_current_xact_id(),
    stream_id       text        NOT NULL,
    category        text        NOT NULL GENERATED ALWAYS AS (split_part(stream_id, '-', 1)) STORED,
    version         bigint      NOT NULL CHECK (version > 0),
    event_id        uuid        NOT NULL,
    type            text        NOT NULL,
    schema_version  integer     NOT NULL,
    data            jsonb       NOT NULL,
    metadata        jsonb       NOT NULL,
    recorded_at     timestamptz NOT NULL,
    CONSTRAINT events_stream_version_key UNIQUE (stream_id, version)
);
CREATE INDEX events_category_position_idx ON events (category, position);
CREATE INDEX events_type_position_idx ON events (type, position);

-- Append-only, for every role, owner and superuser included.
CREATE FUNCTION events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the events table is append-only: % is refused', TG_OP
        USING ERRCODE = 'KU002';
END;
$$;
CREATE TRIGGER events_append_only_rows BEFORE UPDATE OR DELETE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_refuse_change();
CREATE TRIGGER events_append_only_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_refuse_change();
REVOKE UPDATE, DELETE, TRUNCATE ON events FROM PUBLIC;

-- Idempotent appends: the first result of a command, by its id.
CREATE TABLE event_commands (
    command_id      uuid        PRIMARY KEY,
    first_position  bigint      NOT NULL,
    last_position   bigint      NOT NULL,
    recorded_at     timestamptz NOT NULL
);

-- append_events: the only way events enter the log.
--
-- p_streams/p_expected name each stream of the append once (sorted, so that two
-- appends lock shared streams in one order) with its expected version: NULL for
-- any, 0 for "the stream must not exist", n for exactly n. Event i goes to
-- stream p_streams[p_stream_index[i]]. Returns one row per event, in order;
-- `replayed` is true when p_command_id had been seen and nothing was written.
CREATE FUNCTION append_events(
    p_streams text[], p_expected bigint[], p_stream_index integer[],
    p_event_ids uuid[], p_types text[], p_schema_versions integer[],
    p_data jsonb[], p_metadata jsonb[], p_recorded_at timestamptz, p_command_id uuid
) RETURNS TABLE (event_position bigint, event_stream_id text, event_version bigint, replayed boolean)
LANGUAGE plpgsql AS $$
DECLARE
    v_count   integer := cardinality(p_types);
    v_current bigint[] := '{}';
    v_version bigint;
    v_first   bigint;
    v_last    bigint;
BEGIN
    IF p_command_id IS NOT NULL THEN
        -- A retried command waits for its first attempt to finish, then sees its result.
        PERFORM pg_advisory_xact_lock(4803, hashtext(p_command_id::text));
        SELECT c.first_position, c.last_position INTO v_first, v_last
            FROM event_commands c WHERE c.command_id = p_command_id;
        IF FOUND THEN
            RETURN QUERY SELECT e.position, e.stream_id, e.version, true
                FROM events e WHERE e.position BETWEEN v_first AND v_last ORDER BY e.position;
            RETURN;
        END IF;
    END IF;

    -- Writers of one stream queue here, until the earlier one commits, so that
    -- the version read below is final and nobody waits on a row inside the
    -- ordering lock.
    FOR i IN 1 .. cardinality(p_streams) LOOP
        PERFORM pg_advisory_xact_lock(4802, hashtext(p_streams[i]));
    END LOOP;
    FOR i IN 1 .. cardinality(p_streams) LOOP
        SELECT coalesce(max(e.version), 0) INTO v_version FROM events e WHERE e.stream_id = p_streams[i];
        IF p_expected[i] IS NOT NULL AND p_expected[i] <> v_version THEN
            RAISE EXCEPTION 'stream % is at version %, not the expected %',
                p_streams[i], v_version, p_expected[i]
                USING ERRCODE = 'KU001', DETAIL = p_streams[i], HINT = v_version::text;
        END IF;
        v_current := v_current || v_version;
    END LOOP;

    IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
        RAISE EXCEPTION 'an append must be the first write of its transaction'
            USING ERRCODE = 'KU003';
    END IF;

    -- The ordering lock. Readers of the whole log ("everything after position P")
    -- must never miss an event that commits later with a lower position. Holding a
    -- lock until commit would give commit-ordered positions but serialise every
    -- commit (no group commit). Instead this session lock is held only while the
    -- transaction takes its id and its positions, then released before commit:
    -- positions therefore grow with transaction ids. A reader takes only events
    -- whose transaction id is below its snapshot's xmin (every such transaction has
    -- ended); since lower positions belong to lower transaction ids, everything
    -- before a visible event is visible too (or was rolled back), and a reader's
    -- "position > P" never skips a late commit. If the insert fails, the lock is
    -- released by the connection's reset when it returns to the pool (asyncpg runs
    -- pg_advisory_unlock_all), or when the session ends.
    PERFORM pg_advisory_lock(4801, 0);
    PERFORM pg_current_xact_id();
    v_first := nextval('events_position_seq');
    IF v_count > 1 THEN
        PERFORM setval('events_position_seq', v_first + v_count - 1);
    END IF;
    v_last := v_first + v_count - 1;
    RETURN QUERY
    INSERT INTO events AS e (position, stream_id, version, event_id, type, schema_version,
                             data, metadata, recorded_at)
    SELECT v_first + u.n - 1,
           p_streams[u.s],
           v_current[u.s] + row_number() OVER (PARTITION BY u.s ORDER BY u.n),
           u.id, u.t, u.sv, u.d, u.m, p_recorded_at
      FROM unnest(p_stream_index, p_event_ids, p_types, p_schema_versions, p_data, p_metadata)
           WITH ORDINALITY AS u(s, id, t, sv, d, m, n)
    RETURNING e.position, e.stream_id, e.version, false;
    PERFORM pg_advisory_unlock(4801, 0);

    IF p_command_id IS NOT NULL THEN
        INSERT INTO event_commands VALUES (p_command_id, v_first, v_last, p_recorded_at);
    END IF;
    -- No NOTIFY here: see events/postgres.py, Notifier.
END;
$$;

-- Subscriptions: where each group (and partition of it) has got to.
CREATE TABLE subscription_checkpoints (
    group_name  text        NOT NULL,
    partition   integer     NOT NULL,
    position    bigint      NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (group_name, partition)
);
