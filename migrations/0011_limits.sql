-- Keystone's unified limits (inline projection "limits", service/identity/limit_projection.py):
-- registered limits (a service's default for a resource) and limits (a project's or a
-- domain's own value). Only that projection writes these tables; the unique indexes
-- make a duplicate a 409 in the append that tries it.

CREATE TABLE rm_registered_limits (
    id             text PRIMARY KEY,
    service_id     text NOT NULL,
    region_id      text,
    resource_name  text NOT NULL,
    default_limit  bigint NOT NULL,
    description    text
);
CREATE UNIQUE INDEX rm_registered_limits_resource_idx
    ON rm_registered_limits (service_id, coalesce(region_id, ''), resource_name);

CREATE TABLE rm_limits (
    id              text PRIMARY KEY,
    project_id      text,
    domain_id       text,
    service_id      text NOT NULL,
    region_id       text,
    resource_name   text NOT NULL,
    resource_limit  bigint NOT NULL,
    description     text
);
CREATE UNIQUE INDEX rm_limits_resource_idx
    ON rm_limits (coalesce(project_id, ''), coalesce(domain_id, ''), service_id,
                  coalesce(region_id, ''), resource_name);
CREATE INDEX rm_limits_project_idx ON rm_limits (project_id);
