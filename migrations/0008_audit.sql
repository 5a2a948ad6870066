-- rm_audit: one row per audit record (async projection "audit", service/audit/projection.py),
-- the CADF document as the API shows it, and the columns its filters search.
CREATE TABLE rm_audit (
    position              bigint      PRIMARY KEY,
    id                    uuid        NOT NULL UNIQUE,
    event_time            timestamptz NOT NULL,
    request_id            text,
    action                text        NOT NULL,
    verdict               text        NOT NULL,
    status                integer     NOT NULL,
    initiator_user_id     text,
    initiator_project_id  text,
    target_type           text        NOT NULL,
    target_id             text,
    target_project_id     text,
    document              jsonb       NOT NULL
);
-- Listings go in log order (position); each filter a member or an admin is likely to
-- page through has an index that keeps that order.
CREATE INDEX rm_audit_time_idx ON rm_audit (event_time, position);
CREATE INDEX rm_audit_initiator_project_idx ON rm_audit (initiator_project_id, position);
CREATE INDEX rm_audit_target_project_idx ON rm_audit (target_project_id, position);
CREATE INDEX rm_audit_initiator_user_idx ON rm_audit (initiator_user_id, position);
CREATE INDEX rm_audit_target_idx ON rm_audit (target_type, target_id, position);
CREATE INDEX rm_audit_request_idx ON rm_audit (request_id);
CREATE INDEX rm_audit_verdict_idx ON rm_audit (verdict, position) WHERE verdict <> 'success';
