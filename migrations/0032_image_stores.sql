-- The stores an image's bytes are kept in (Glance's multiple stores,
-- service/image/stores.py), sorted. Images activated before stores existed keep their
-- bytes in the object backend, the store `default`, as their events say by default.

ALTER TABLE rm_images ADD COLUMN stores text[] NOT NULL DEFAULT '{}';
UPDATE rm_images SET stores = '{default}'
 WHERE status IN ('active', 'deactivated') AND location IS NOT NULL;
