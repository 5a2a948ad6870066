-- Keystone's trusts (OS-TRUST): the rows of `trust-<id>` streams.
CREATE TABLE rm_trusts (
    id               text PRIMARY KEY,
    trustor_user_id  text NOT NULL,
    trustee_user_id  text NOT NULL,
    project_id       text NOT NULL,
    role_ids         text[] NOT NULL,
    impersonation    boolean NOT NULL,
    expires_at       timestamptz,
    remaining_uses   integer,
    created_at       timestamptz NOT NULL
);
CREATE INDEX rm_trusts_trustor ON rm_trusts (trustor_user_id);
CREATE INDEX rm_trusts_trustee ON rm_trusts (trustee_user_id);
