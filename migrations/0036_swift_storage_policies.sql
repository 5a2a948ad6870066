-- Swift storage policies (service/objects/policy.py): each container records the policy
-- whose backend keeps its objects' bytes, chosen when it is created
-- (ContainerCreated.storage_policy). Containers created before policies existed are
-- Policy-0's, Kumo's object backend, as their events say by default; every write of a
-- row names its policy from now on.

ALTER TABLE rm_swift_containers ADD COLUMN storage_policy text NOT NULL DEFAULT 'Policy-0';
ALTER TABLE rm_swift_containers ALTER COLUMN storage_policy DROP DEFAULT;

-- Containers with their usage (migration 0016), and now their policy.
CREATE OR REPLACE VIEW rm_swift_containers_counted AS
SELECT c.project_id, c.name, c.metadata, u.object_count, u.bytes_used, c.created_at,
       c.updated_at, c.storage_policy
  FROM rm_swift_containers c
 CROSS JOIN LATERAL (
    SELECT coalesce(sum(s.object_count), 0)::bigint AS object_count,
           coalesce(sum(s.bytes_used), 0)::bigint AS bytes_used
      FROM rm_swift_container_slots s
     WHERE s.project_id = c.project_id AND s.container = c.name) u;
