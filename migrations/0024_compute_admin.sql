-- Quota classes (/v2.1/os-quota-class-sets): the limits an admin set for a class, the rows
-- of `quotaclass-<name>` streams. The `default` class's are every project's defaults.
CREATE TABLE rm_quota_class_limits (
    quota_class  text NOT NULL,
    resource     text NOT NULL,
    hard_limit   integer NOT NULL,
    PRIMARY KEY (quota_class, resource)
);

-- A server's disk config (OS-DCF:diskConfig): AUTO or MANUAL, as created, rebuilt,
-- resized or updated.
ALTER TABLE rm_servers ADD COLUMN disk_config text NOT NULL DEFAULT 'MANUAL';

-- When a compute host's machine last booted, as its worker registered it (its uptime).
ALTER TABLE rm_hosts ADD COLUMN booted_at timestamptz;

-- Host aggregates (/v2.1/os-aggregates): the rows of `aggregate-<id>` streams, ids numbered
-- from 1 as Nova's are; a deleted one keeps its row (so its number is never given again).
CREATE TABLE rm_aggregates (
    id                 text PRIMARY KEY,
    uuid               text NOT NULL,
    name               text NOT NULL,
    availability_zone  text,
    hosts              text[] NOT NULL DEFAULT '{}',
    metadata           jsonb NOT NULL DEFAULT '{}',
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz,
    deleted            boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX rm_aggregates_name ON rm_aggregates (name) WHERE NOT deleted;
