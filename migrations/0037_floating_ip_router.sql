-- The router a floating IP reaches its fixed address through (service/network/reachability.py):
-- its gateway is on the floating IP's network and it has an interface on the fixed
-- address's subnet. Null while disassociated, and for associations recorded before Kumo
-- required a router (their events name none).
ALTER TABLE rm_floating_ips ADD COLUMN router_id text;
CREATE INDEX rm_floating_ips_router_idx ON rm_floating_ips (router_id) WHERE router_id IS NOT NULL;
