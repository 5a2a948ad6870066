-- Dashboard sessions (service/dashboard/session.py), shared by every process serving the
-- APIs (KUMO_WORKERS): the browser holds only the id. `sealed` is the session's tokens and
-- CSRF token encrypted with the token keys, so this table alone gives no bearer token.
-- Not an event: a session is a login's working state (the login itself is in the log).

CREATE TABLE dashboard_sessions (
    id          text PRIMARY KEY,
    sealed      bytea NOT NULL,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX dashboard_sessions_expires_idx ON dashboard_sessions (expires_at);
