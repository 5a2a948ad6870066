-- Quota classes (/v2.1/os-quota-class-sets): the limits an admin set for a class, the rows
-- of `quotaclass-<name>` streams. The `default` class's are every project's defaults.
CREATE TABLE rm_quota_class_limits (
    quota_class  text NOT NULL,
    resource     text NOT NULL,
    hard_limit   integer NOT NULL,
    PRIMARY KEY (quota_class, resource)
);
