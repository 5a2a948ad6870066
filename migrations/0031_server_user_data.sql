-- A server's user data (base64, as given at create or at a rebuild from 2.57), which
-- Nova shows admins as OS-EXT-SRV-ATTR:user_data and a rebuild writes to the config drive
-- again. Servers created before this migration take theirs from their create event.
ALTER TABLE rm_servers ADD COLUMN user_data text;

UPDATE rm_servers s SET user_data = e.data->>'user_data'
FROM events e
WHERE e.stream_id = 'server-' || s.id AND e.type = 'ServerCreateRequested';

-- A server group's rules (2.64): for anti-affinity, `max_server_per_host`.
ALTER TABLE rm_server_groups ADD COLUMN rules jsonb NOT NULL DEFAULT '{}';
