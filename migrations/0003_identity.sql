-- Identity read models (inline projection "identity", service/identity/projection.py).
-- Only that projection writes these tables.

CREATE TABLE rm_domains (
    id           text PRIMARY KEY,
    name         text NOT NULL,
    description  text NOT NULL DEFAULT '',
    enabled      boolean NOT NULL DEFAULT true,
    tags         text[] NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL
);
CREATE UNIQUE INDEX rm_domains_name_key ON rm_domains (lower(name));

CREATE TABLE rm_projects (
    id           text PRIMARY KEY,
    name         text NOT NULL,
    domain_id    text NOT NULL,
    parent_id    text,
    description  text NOT NULL DEFAULT '',
    enabled      boolean NOT NULL DEFAULT true,
    tags         text[] NOT NULL DEFAULT '{}',
    options      jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL
);
CREATE UNIQUE INDEX rm_projects_name_key ON rm_projects (domain_id, lower(name));

CREATE TABLE rm_users (
    id                   text PRIMARY KEY,
    name                 text NOT NULL,
    domain_id            text NOT NULL,
    enabled              boolean NOT NULL DEFAULT true,
    default_project_id   text,
    description          text,
    email                text,
    extra                jsonb NOT NULL DEFAULT '{}',
    options              jsonb NOT NULL DEFAULT '{}',
    password_hash        text,
    password_created_at  timestamptz,
    password_expires_at  timestamptz,
    password_changed_at  timestamptz,
    failed_auth_count    integer NOT NULL DEFAULT 0,
    last_failed_auth_at  timestamptz,
    last_active_at       timestamptz,
    created_at           timestamptz NOT NULL
);
CREATE UNIQUE INDEX rm_users_name_key ON rm_users (domain_id, lower(name));

CREATE TABLE rm_password_history (
    user_id      text NOT NULL,
    position     bigint NOT NULL,
    hash         text NOT NULL,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (user_id, position)
);

CREATE TABLE rm_groups (
    id           text PRIMARY KEY,
    name         text NOT NULL,
    domain_id    text NOT NULL,
    description  text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL
);
CREATE UNIQUE INDEX rm_groups_name_key ON rm_groups (domain_id, lower(name));

CREATE TABLE rm_group_members (
    group_id     text NOT NULL,
    user_id      text NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX rm_group_members_user_idx ON rm_group_members (user_id);

CREATE TABLE rm_roles (
    id           text PRIMARY KEY,
    name         text NOT NULL,
    domain_id    text,
    description  text,
    options      jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL
);
CREATE UNIQUE INDEX rm_roles_name_key ON rm_roles (coalesce(domain_id, ''), lower(name));

CREATE TABLE rm_implied_roles (
    prior_role_id    text NOT NULL,
    implied_role_id  text NOT NULL,
    PRIMARY KEY (prior_role_id, implied_role_id)
);

CREATE TABLE rm_role_assignments (
    actor_type   text NOT NULL CHECK (actor_type IN ('user', 'group')),
    actor_id     text NOT NULL,
    target_type  text NOT NULL CHECK (target_type IN ('project', 'domain', 'system')),
    target_id    text NOT NULL,
    role_id      text NOT NULL,
    inherited    boolean NOT NULL DEFAULT false,
    PRIMARY KEY (actor_type, actor_id, target_type, target_id, role_id, inherited)
);
CREATE INDEX rm_role_assignments_target_idx ON rm_role_assignments (target_type, target_id);
CREATE INDEX rm_role_assignments_role_idx ON rm_role_assignments (role_id);

CREATE TABLE rm_regions (
    id                text PRIMARY KEY,
    description       text NOT NULL DEFAULT '',
    parent_region_id  text
);

CREATE TABLE rm_services (
    id           text PRIMARY KEY,
    type         text NOT NULL,
    name         text NOT NULL DEFAULT '',
    description  text NOT NULL DEFAULT '',
    enabled      boolean NOT NULL DEFAULT true
);

CREATE TABLE rm_endpoints (
    id           text PRIMARY KEY,
    service_id   text NOT NULL,
    interface    text NOT NULL CHECK (interface IN ('public', 'internal', 'admin')),
    url          text NOT NULL,
    region_id    text,
    enabled      boolean NOT NULL DEFAULT true
);

CREATE TABLE rm_application_credentials (
    id            text PRIMARY KEY,
    user_id       text NOT NULL,
    project_id    text NOT NULL,
    name          text NOT NULL,
    description   text,
    secret_hash   text NOT NULL,
    role_ids      text[] NOT NULL,
    expires_at    timestamptz,
    unrestricted  boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL
);
CREATE UNIQUE INDEX rm_application_credentials_name_key ON rm_application_credentials (user_id, name);

-- Revocations still in force: by audit id, or every token of a user issued before a time.
CREATE TABLE rm_token_revocations (
    kind         text NOT NULL CHECK (kind IN ('audit', 'user')),
    key          text NOT NULL,
    revoked_at   timestamptz NOT NULL,
    expires_at   timestamptz,
    PRIMARY KEY (kind, key)
);
