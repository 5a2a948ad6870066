-- A server's public key and its type, copied from its key pair when it was created or
-- rebuilt with one (2.54), as Nova keeps key_data in the instance: the host writes them
-- to the config drive, even once the key pair is deleted. NULL: no key pair.
ALTER TABLE rm_servers ADD COLUMN public_key text, ADD COLUMN key_type text;

-- Servers created before this migration take theirs from their create event, or from
-- their latest rebuild that named a key pair (such a rebuild copied no key in: none).
UPDATE rm_servers s
   SET public_key = e.data->>'public_key',
       key_type = CASE WHEN e.data->>'public_key' IS NOT NULL
                       THEN coalesce(e.data->>'key_type', 'ssh') END
  FROM events e
 WHERE e.stream_id = 'server-' || s.id AND e.type = 'ServerCreateRequested';

UPDATE rm_servers s
   SET public_key = r.data->'params'->>'public_key',
       key_type = r.data->'params'->>'key_type'
  FROM (SELECT DISTINCT ON (stream_id) stream_id, data
          FROM events
         WHERE type = 'ServerActionRequested' AND data->>'action' = 'rebuild'
           AND data->'params' ? 'key_name'
         ORDER BY stream_id, version DESC) r
 WHERE r.stream_id = 'server-' || s.id;
