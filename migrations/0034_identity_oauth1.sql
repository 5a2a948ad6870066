-- Keystone's OAuth1 delegation (OS-OAUTH1): the rows of `consumer-`, `request_token-`
-- and `access_token-<id>` streams. Secrets stay sealed with the credential keys.
CREATE TABLE rm_consumers (
    id                text PRIMARY KEY,
    description       text,
    encrypted_secret  text NOT NULL,
    created_at        timestamptz NOT NULL
);

CREATE TABLE rm_request_tokens (
    id                   text PRIMARY KEY,
    consumer_id          text NOT NULL,
    project_id           text NOT NULL,
    encrypted_secret     text NOT NULL,
    expires_at           timestamptz NOT NULL,
    authorizing_user_id  text,
    role_ids             text[],
    verifier             text,
    created_at           timestamptz NOT NULL
);
CREATE INDEX rm_request_tokens_consumer ON rm_request_tokens (consumer_id);

CREATE TABLE rm_access_tokens (
    id                   text PRIMARY KEY,
    consumer_id          text NOT NULL,
    authorizing_user_id  text NOT NULL,
    project_id           text NOT NULL,
    role_ids             text[] NOT NULL,
    encrypted_secret     text NOT NULL,
    expires_at           timestamptz NOT NULL,
    created_at           timestamptz NOT NULL
);
CREATE INDEX rm_access_tokens_consumer ON rm_access_tokens (consumer_id);
CREATE INDEX rm_access_tokens_user ON rm_access_tokens (authorizing_user_id);
