-- Neutron routers (inline projection "network", service/network/projection.py). A
-- router's interfaces and gateway are ports (device_owner network:router_*, device_id
-- the router); the gateway port's row is named here so that it outlives no router.

CREATE TABLE rm_routers (
    id                  text PRIMARY KEY,
    project_id          text NOT NULL,
    name                text NOT NULL DEFAULT '',
    description         text NOT NULL DEFAULT '',
    admin_state_up      boolean NOT NULL DEFAULT true,
    routes              jsonb NOT NULL DEFAULT '[]',
    gateway_network_id  text REFERENCES rm_networks (id),
    gateway_port_id     text REFERENCES rm_ports (id),
    enable_snat         boolean NOT NULL DEFAULT true,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    revision_number     bigint NOT NULL
);
CREATE INDEX rm_routers_project_idx ON rm_routers (project_id, created_at);
CREATE INDEX rm_ports_router_idx ON rm_ports (device_id, device_owner)
    WHERE device_owner LIKE 'network:router%';
