-- Network read models (inline projection "network", service/network/projection.py).
-- Foreign keys keep the model whole under concurrency: a subnet with addresses in use,
-- or a network with subnets or ports, cannot be deleted by an append that raced them.

CREATE TABLE rm_networks (
    id                     text PRIMARY KEY,
    project_id             text NOT NULL,
    name                   text NOT NULL DEFAULT '',
    description            text NOT NULL DEFAULT '',
    admin_state_up         boolean NOT NULL DEFAULT true,
    shared                 boolean NOT NULL DEFAULT false,
    external               boolean NOT NULL DEFAULT false,
    is_default             boolean NOT NULL DEFAULT false,
    mtu                    integer NOT NULL DEFAULT 1500,
    port_security_enabled  boolean NOT NULL DEFAULT true,
    created_at             timestamptz NOT NULL,
    updated_at             timestamptz NOT NULL,
    revision_number        bigint NOT NULL
);
CREATE INDEX rm_networks_project_idx ON rm_networks (project_id);
-- A project's auto-allocated default network (Nova's `networks: auto`): at most one.
CREATE UNIQUE INDEX rm_networks_default_key ON rm_networks (project_id) WHERE is_default AND NOT external;

CREATE TABLE rm_subnets (
    id               text PRIMARY KEY,
    network_id       text NOT NULL REFERENCES rm_networks (id),
    project_id       text NOT NULL,
    name             text NOT NULL DEFAULT '',
    description      text NOT NULL DEFAULT '',
    ip_version       integer NOT NULL,
    cidr             text NOT NULL,
    gateway_ip       text,
    allocation_pools jsonb NOT NULL DEFAULT '[]',
    dns_nameservers  jsonb NOT NULL DEFAULT '[]',
    host_routes      jsonb NOT NULL DEFAULT '[]',
    enable_dhcp      boolean NOT NULL DEFAULT true,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    revision_number  bigint NOT NULL
);
CREATE INDEX rm_subnets_network_idx ON rm_subnets (network_id, created_at);

CREATE TABLE rm_ports (
    id                     text PRIMARY KEY,
    network_id             text NOT NULL REFERENCES rm_networks (id),
    project_id             text NOT NULL,
    name                   text NOT NULL DEFAULT '',
    description            text NOT NULL DEFAULT '',
    mac_address            text NOT NULL,
    admin_state_up         boolean NOT NULL DEFAULT true,
    device_id              text NOT NULL DEFAULT '',
    device_owner           text NOT NULL DEFAULT '',
    fixed_ips              jsonb NOT NULL DEFAULT '[]',
    security_groups        text[] NOT NULL DEFAULT '{}',
    port_security_enabled  boolean NOT NULL DEFAULT true,
    binding_host_id        text NOT NULL DEFAULT '',
    auto_delete            boolean NOT NULL DEFAULT false,
    created_at             timestamptz NOT NULL,
    updated_at             timestamptz NOT NULL,
    revision_number        bigint NOT NULL
);
CREATE INDEX rm_ports_project_idx ON rm_ports (project_id, created_at);
CREATE INDEX rm_ports_network_idx ON rm_ports (network_id);
CREATE INDEX rm_ports_device_idx ON rm_ports (device_id) WHERE device_id <> '';
CREATE UNIQUE INDEX rm_ports_mac_key ON rm_ports (network_id, mac_address);

CREATE TABLE rm_floating_ips (
    id                   text PRIMARY KEY,
    project_id           text NOT NULL,
    floating_network_id  text NOT NULL REFERENCES rm_networks (id),
    floating_ip_address  text NOT NULL,
    port_id              text REFERENCES rm_ports (id),
    fixed_ip_address     text,
    description          text NOT NULL DEFAULT '',
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    revision_number      bigint NOT NULL
);
CREATE INDEX rm_floating_ips_project_idx ON rm_floating_ips (project_id, created_at);

-- IPAM: every address taken in a subnet, by a port or a floating IP. The primary key is
-- what makes allocation exact: of two appends that chose one address, one fails.
CREATE TABLE rm_ip_allocations (
    subnet_id       text NOT NULL REFERENCES rm_subnets (id),
    ip_address      inet NOT NULL,
    port_id         text REFERENCES rm_ports (id),
    floating_ip_id  text REFERENCES rm_floating_ips (id),
    PRIMARY KEY (subnet_id, ip_address),
    CHECK ((port_id IS NULL) <> (floating_ip_id IS NULL))
);
CREATE INDEX rm_ip_allocations_port_idx ON rm_ip_allocations (port_id);

-- What each project holds of its network quotas (limits are in rm_quota_limits).
CREATE TABLE rm_network_usage (
    project_id  text NOT NULL,
    resource    text NOT NULL,
    used        integer NOT NULL DEFAULT 0,
    PRIMARY KEY (project_id, resource)
);
