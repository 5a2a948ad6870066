-- Tamper evidence: every event carries a SHA-256 chained over the previous event of
-- its stream.
--
-- Per stream, not global: append_events already knows each stream's previous version
-- (it holds the stream's lock and reads it), so chaining to that event's hash costs one
-- more column read, and appends to different streams stay as concurrent as before. A
-- global chain would need the previous event's hash in position order, i.e. a row or
-- lock held until commit by every append: one append at a time. What a per-stream
-- chain cannot show is a stream whose last events (or all of them) were removed;
-- read-model verification (`kumo verify`) sees those, since rm_streams records each
-- stream's version and last position.
--
-- hash(e) = sha256(previous || utf8(f(position) f(stream_id) f(version) f(event_id)
--                  f(type) f(schema_version) f(recorded_at in µs since 1970)
--                  f(metadata::text) f(data::text)))
-- where f(x) = length(x) || ':' || x (so no two field lists encode alike) and
-- `previous` is the hash of the stream's previous version, 32 zero bytes for version 1.
-- events/chain.py computes the same in Python, independently, to verify the chain.

CREATE FUNCTION event_hash(
    p_previous bytea, p_position bigint, p_stream_id text, p_version bigint, p_event_id uuid,
    p_type text, p_schema_version integer, p_recorded_at timestamptz, p_metadata jsonb,
    p_data jsonb
) RETURNS bytea LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT sha256(p_previous || convert_to(
        length(p_position::text) || ':' || p_position::text
        || length(p_stream_id) || ':' || p_stream_id
        || length(p_version::text) || ':' || p_version::text
        || length(p_event_id::text) || ':' || p_event_id::text
        || length(p_type) || ':' || p_type
        || length(p_schema_version::text) || ':' || p_schema_version::text
        || length(r.micros) || ':' || r.micros
        || length(p_metadata::text) || ':' || p_metadata::text
        || length(p_data::text) || ':' || p_data::text,
        'UTF8'))
    FROM (SELECT (extract(epoch FROM p_recorded_at) * 1000000)::bigint::text AS micros) AS r
$$;

ALTER TABLE events ADD COLUMN hash bytea;

-- The events already logged get their hashes here, stream by stream in version order.
-- The append-only guard refuses every UPDATE, so it is off for this one transaction.
ALTER TABLE events DISABLE TRIGGER events_append_only_rows;
DO $$
DECLARE
    r        record;
    v_stream text := NULL;
    v_prev   bytea;
BEGIN
    FOR r IN SELECT position, stream_id, version, event_id, type, schema_version,
                    recorded_at, metadata, data
               FROM events ORDER BY stream_id, version LOOP
        IF v_stream IS DISTINCT FROM r.stream_id THEN
            v_stream := r.stream_id;
            v_prev := decode(repeat('00', 32), 'hex');
        END IF;
        v_prev := event_hash(v_prev, r.position, r.stream_id, r.version, r.event_id, r.type,
                             r.schema_version, r.recorded_at, r.metadata, r.data);
        UPDATE events SET hash = v_prev WHERE position = r.position;
    END LOOP;
END;
$$;
ALTER TABLE events ENABLE TRIGGER events_append_only_rows;
ALTER TABLE events ALTER COLUMN hash SET NOT NULL,
    ADD CONSTRAINT events_hash_length CHECK (octet_length(hash) = 32);

-- append_events as in 0001, but each event's hash is computed and stored with it.
-- One more change: the ordering lock is released once the transaction id and the
-- positions are taken, before hashing and inserting. Gap safety needs only that
-- positions grow with transaction ids (see 0001), and both are fixed under the lock;
-- the insert itself may run after it, so hashing lengthens no one's wait.
CREATE OR REPLACE FUNCTION append_events(
    p_streams text[], p_expected bigint[], p_stream_index integer[],
    p_event_ids uuid[], p_types text[], p_schema_versions integer[],
    p_data jsonb[], p_metadata jsonb[], p_recorded_at timestamptz, p_command_id uuid
) RETURNS TABLE (event_position bigint, event_stream_id text, event_version bigint, replayed boolean)
LANGUAGE plpgsql AS $$
DECLARE
    v_count    integer := cardinality(p_types);
    v_current  bigint[] := '{}';
    v_previous bytea[] := '{}';
    v_versions bigint[];
    v_hashes   bytea[];
    v_version  bigint;
    v_hash     bytea;
    v_first    bigint;
    v_last     bigint;
    v_s        integer;
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
    -- the version (and hash) read below is final and nobody waits on a row inside
    -- the ordering lock.
    FOR i IN 1 .. cardinality(p_streams) LOOP
        PERFORM pg_advisory_xact_lock(4802, hashtext(p_streams[i]));
    END LOOP;
    FOR i IN 1 .. cardinality(p_streams) LOOP
        SELECT e.version, e.hash INTO v_version, v_hash
            FROM events e WHERE e.stream_id = p_streams[i] ORDER BY e.version DESC LIMIT 1;
        IF NOT FOUND THEN
            v_version := 0;
            v_hash := decode(repeat('00', 32), 'hex');
        END IF;
        IF p_expected[i] IS NOT NULL AND p_expected[i] <> v_version THEN
            RAISE EXCEPTION 'stream % is at version %, not the expected %',
                p_streams[i], v_version, p_expected[i]
                USING ERRCODE = 'KU001', DETAIL = p_streams[i], HINT = v_version::text;
        END IF;
        v_current := v_current || v_version;
        v_previous := v_previous || v_hash;
    END LOOP;

    IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
        RAISE EXCEPTION 'an append must be the first write of its transaction'
            USING ERRCODE = 'KU003';
    END IF;

    -- The ordering lock: see migrations/0001_event_store.sql for why positions are
    -- taken under it, and the note above for why the insert is not.
    PERFORM pg_advisory_lock(4801, 0);
    PERFORM pg_current_xact_id();
    v_first := nextval('events_position_seq');
    IF v_count > 1 THEN
        PERFORM setval('events_position_seq', v_first + v_count - 1);
    END IF;
    PERFORM pg_advisory_unlock(4801, 0);
    v_last := v_first + v_count - 1;

    v_versions := array_fill(0::bigint, ARRAY[v_count]);
    v_hashes := array_fill(NULL::bytea, ARRAY[v_count]);
    FOR i IN 1 .. v_count LOOP
        v_s := p_stream_index[i];
        v_current[v_s] := v_current[v_s] + 1;
        v_previous[v_s] := event_hash(v_previous[v_s], v_first + i - 1, p_streams[v_s],
                                      v_current[v_s], p_event_ids[i], p_types[i],
                                      p_schema_versions[i], p_recorded_at, p_metadata[i],
                                      p_data[i]);
        v_versions[i] := v_current[v_s];
        v_hashes[i] := v_previous[v_s];
    END LOOP;

    RETURN QUERY
    INSERT INTO events AS e (position, stream_id, version, event_id, type, schema_version,
                             data, metadata, recorded_at, hash)
    SELECT v_first + u.n - 1, p_streams[u.s], u.v, u.id, u.t, u.sv, u.d, u.m, p_recorded_at, u.h
      FROM unnest(p_stream_index, p_event_ids, p_types, p_schema_versions, p_data, p_metadata,
                  v_versions, v_hashes)
           WITH ORDINALITY AS u(s, id, t, sv, d, m, v, h, n)
    RETURNING e.position, e.stream_id, e.version, false;

    IF p_command_id IS NOT NULL THEN
        INSERT INTO event_commands VALUES (p_command_id, v_first, v_last, p_recorded_at);
    END IF;
    -- No NOTIFY here: see events/postgres.py, Notifier.
END;
$$;
