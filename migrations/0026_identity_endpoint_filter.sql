-- Keystone's OS-EP-FILTER: endpoint groups (the rows of `endpoint_group-<id>` streams) and
-- which endpoints and groups each project is given; a project given any sees only those.
CREATE TABLE rm_endpoint_groups (
    id           text PRIMARY KEY,
    name         text NOT NULL,
    description  text NOT NULL DEFAULT '',
    filters      jsonb NOT NULL
);

CREATE TABLE rm_project_endpoints (
    project_id   text NOT NULL,
    endpoint_id  text NOT NULL,
    PRIMARY KEY (project_id, endpoint_id)
);
CREATE INDEX rm_project_endpoints_endpoint ON rm_project_endpoints (endpoint_id);

CREATE TABLE rm_project_endpoint_groups (
    project_id         text NOT NULL,
    endpoint_group_id  text NOT NULL,
    PRIMARY KEY (project_id, endpoint_group_id)
);
CREATE INDEX rm_project_endpoint_groups_group ON rm_project_endpoint_groups (endpoint_group_id);
