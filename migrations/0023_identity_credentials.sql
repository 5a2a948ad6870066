-- Credentials (/v3/credentials, and the EC2 key pairs of /v3/users/{id}/credentials/OS-EC2):
-- the rows of `credential-<id>` streams; the blob stays encrypted with the credential keys.
CREATE TABLE rm_credentials (
    id              text PRIMARY KEY,
    user_id         text NOT NULL,
    project_id      text,
    type            text NOT NULL,
    encrypted_blob  text NOT NULL,
    created_at      timestamptz NOT NULL
);
CREATE INDEX rm_credentials_user_id ON rm_credentials (user_id);
