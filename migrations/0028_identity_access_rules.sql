-- Application credentials' access rules: each credential's own list, and each user's rules
-- (shared by that user's credentials naming the same request, kept until deleted).
ALTER TABLE rm_application_credentials ADD COLUMN access_rules jsonb NOT NULL DEFAULT '[]';

CREATE TABLE rm_access_rules (
    id       text PRIMARY KEY,
    user_id  text NOT NULL,
    service  text NOT NULL,
    method   text NOT NULL,
    path     text NOT NULL,
    UNIQUE (user_id, service, method, path)
);
