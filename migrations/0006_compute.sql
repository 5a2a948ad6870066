-- Compute read models (inline projection "compute", service/compute/projection.py).

CREATE TABLE rm_flavors (
    id            text PRIMARY KEY,
    name          text NOT NULL,
    vcpus         integer NOT NULL,
    ram           integer NOT NULL,
    disk          integer NOT NULL,
    ephemeral     integer NOT NULL DEFAULT 0,
    swap          integer NOT NULL DEFAULT 0,
    rxtx_factor   double precision NOT NULL DEFAULT 1.0,
    is_public     boolean NOT NULL DEFAULT true,
    description   text,
    extra_specs   jsonb NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL
);
CREATE UNIQUE INDEX rm_flavors_name_key ON rm_flavors (name);

CREATE TABLE rm_flavor_access (
    flavor_id   text NOT NULL,
    project_id  text NOT NULL,
    PRIMARY KEY (flavor_id, project_id)
);

CREATE TABLE rm_keypairs (
    id           text PRIMARY KEY,
    user_id      text NOT NULL,
    name         text NOT NULL,
    public_key   text NOT NULL,
    fingerprint  text NOT NULL,
    type         text NOT NULL DEFAULT 'ssh',
    created_at   timestamptz NOT NULL
);
CREATE UNIQUE INDEX rm_keypairs_name_key ON rm_keypairs (user_id, name);

CREATE TABLE rm_servers (
    id                 text PRIMARY KEY,
    project_id         text NOT NULL,
    user_id            text NOT NULL,
    name               text NOT NULL,
    vm_state           text NOT NULL,
    task_state         text,
    power_state        integer NOT NULL DEFAULT 0,
    flavor             jsonb NOT NULL,
    image_id           text NOT NULL,
    key_name           text,
    metadata           jsonb NOT NULL DEFAULT '{}',
    availability_zone  text NOT NULL,
    host               text,
    node               text,
    config_drive       boolean NOT NULL DEFAULT false,
    reservation_id     text NOT NULL,
    launch_index       integer NOT NULL DEFAULT 0,
    security_groups    text[] NOT NULL DEFAULT '{}',
    server_group_id    text,
    tags               text[] NOT NULL DEFAULT '{}',
    description        text,
    access_ipv4        text NOT NULL DEFAULT '',
    access_ipv6        text NOT NULL DEFAULT '',
    hostname           text NOT NULL DEFAULT '',
    locked             boolean NOT NULL DEFAULT false,
    locked_by          text,
    locked_reason      text,
    fault              jsonb,
    previous_flavor    jsonb,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    launched_at        timestamptz,
    terminated_at      timestamptz,
    deleted            boolean NOT NULL DEFAULT false,
    version            bigint NOT NULL
);
CREATE INDEX rm_servers_project_idx ON rm_servers (project_id, created_at DESC, id) WHERE NOT deleted;
CREATE INDEX rm_servers_host_idx ON rm_servers (host) WHERE NOT deleted;
CREATE INDEX rm_servers_updated_idx ON rm_servers (updated_at);

-- Instance actions: one row per requested action, with its events (Nova's os-instance-actions).
CREATE TABLE rm_instance_actions (
    server_id    text NOT NULL,
    request_id   text NOT NULL,
    action       text NOT NULL,
    project_id   text NOT NULL,
    user_id      text,
    start_time   timestamptz NOT NULL,
    finish_time  timestamptz,
    message      text,
    result       text,
    position     bigint NOT NULL,
    PRIMARY KEY (server_id, request_id, action)
);

CREATE TABLE rm_quota_limits (
    project_id  text NOT NULL,
    resource    text NOT NULL,
    hard_limit  integer NOT NULL,
    PRIMARY KEY (project_id, resource)
);

CREATE TABLE rm_quota_usage (
    project_id  text PRIMARY KEY,
    instances   integer NOT NULL DEFAULT 0,
    cores       integer NOT NULL DEFAULT 0,
    ram         integer NOT NULL DEFAULT 0
);

CREATE TABLE rm_security_groups (
    id           text PRIMARY KEY,
    project_id   text NOT NULL,
    name         text NOT NULL,
    description  text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL
);
CREATE INDEX rm_security_groups_project_idx ON rm_security_groups (project_id, name);
CREATE UNIQUE INDEX rm_security_groups_default_key ON rm_security_groups (project_id)
    WHERE name = 'default';

CREATE TABLE rm_security_group_rules (
    id                text PRIMARY KEY,
    group_id          text NOT NULL,
    direction         text NOT NULL,
    ethertype         text NOT NULL,
    protocol          text,
    port_range_min    integer,
    port_range_max    integer,
    remote_ip_prefix  text,
    remote_group_id   text
);
CREATE INDEX rm_security_group_rules_group_idx ON rm_security_group_rules (group_id);

CREATE TABLE rm_server_groups (
    id          text PRIMARY KEY,
    project_id  text NOT NULL,
    user_id     text NOT NULL,
    name        text NOT NULL,
    policy      text NOT NULL,
    created_at  timestamptz NOT NULL
);

CREATE TABLE rm_hosts (
    name               text PRIMARY KEY,
    uri                text NOT NULL,
    hypervisor_type    text NOT NULL,
    vcpus              integer NOT NULL,
    memory_mb          integer NOT NULL,
    disk_gb            integer NOT NULL,
    availability_zone  text NOT NULL DEFAULT 'nova',
    enabled            boolean NOT NULL DEFAULT true,
    disabled_reason    text,
    registered_at      timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL
);
