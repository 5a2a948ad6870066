-- Container usage that concurrent object writes do not serialise on (issue 5).
--
-- Until now each object write added to the counters in its container's row, the
-- append's last statement: writes into one container held that one row from their
-- UPDATE to their commit's WAL flush, one after another (~350 commits/s for one row
-- against ~1,960 spread over 64 rows, on this machine). Now a container's usage is kept
-- in 64 slot rows, made with the container and deleted with it, and an object's write
-- adds to the slot its name falls in (swift_usage_slot): writes of different names
-- mostly lock different rows and share their flushes (an API process has 30
-- connections: with 64 slots a write finds its slot held by another about a third of
-- the time, with 16 nearly always). The counts stay exact; readers sum the slots
-- (rm_swift_containers_counted). Whether a container is empty is whether it has object
-- rows. A PUT or GET of an object reads its container without its usage.

-- The slot of an object's name: 0..63, from the first byte of its md5 (the same in
-- the live model and its rebuild, on any server).
CREATE FUNCTION swift_usage_slot(p_name text) RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (get_byte(decode(md5(p_name), 'hex'), 0) % 64)::smallint
$$;

CREATE TABLE rm_swift_container_slots (
    project_id    text COLLATE "C" NOT NULL,
    container     text COLLATE "C" NOT NULL,
    slot          smallint    NOT NULL CHECK (slot BETWEEN 0 AND 63),
    object_count  bigint      NOT NULL DEFAULT 0,
    bytes_used    bigint      NOT NULL DEFAULT 0,
    PRIMARY KEY (project_id, container, slot),
    FOREIGN KEY (project_id, container) REFERENCES rm_swift_containers (project_id, name)
);

-- Every container's slots from its objects' rows; the rebuild of the objects model
-- fills them the same way (service/objects/projection.py).
INSERT INTO rm_swift_container_slots (project_id, container, slot, object_count, bytes_used)
SELECT c.project_id, c.name, s.slot, count(o.name), coalesce(sum(o.size), 0)
  FROM rm_swift_containers c
 CROSS JOIN generate_series(0, 63) AS s(slot)
  LEFT JOIN rm_swift_objects o ON o.project_id = c.project_id AND o.container = c.name
        AND swift_usage_slot(o.name) = s.slot
 GROUP BY c.project_id, c.name, s.slot;

ALTER TABLE rm_swift_containers DROP COLUMN object_count, DROP COLUMN bytes_used;

-- Containers with their usage, as readers want them.
CREATE VIEW rm_swift_containers_counted AS
SELECT c.project_id, c.name, c.metadata, u.object_count, u.bytes_used, c.created_at,
       c.updated_at
  FROM rm_swift_containers c
 CROSS JOIN LATERAL (
    SELECT coalesce(sum(s.object_count), 0)::bigint AS object_count,
           coalesce(sum(s.bytes_used), 0)::bigint AS bytes_used
      FROM rm_swift_container_slots s
     WHERE s.project_id = c.project_id AND s.container = c.name) u;
