-- +goose Up
-- auth_attempts is the authentication log: one row per sign-in attempt at
-- the hosted login (password, code, magic link, sign-up), successful or
-- not. The email is kept only as the SHA-256 hex of its normalized form,
-- so the log can be searched by email without storing addresses of people
-- who merely typed them. user_id is set when the attempt is tied to a
-- known user. Read through AuditLogsService ListAuthRequests.
CREATE TABLE auth_attempts (
    id              TEXT PRIMARY KEY,
    env_id          TEXT NOT NULL REFERENCES environments (id),
    created_at      BIGINT NOT NULL,
    email_hash      TEXT NOT NULL DEFAULT '',
    method          TEXT NOT NULL,
    outcome         TEXT NOT NULL,
    ip              TEXT NOT NULL DEFAULT '',
    user_id         TEXT NOT NULL DEFAULT '',
    org_id          TEXT NOT NULL DEFAULT '',
    auth_request_id TEXT NOT NULL DEFAULT '',
    client_id       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX auth_attempts_env ON auth_attempts (env_id, id);
CREATE INDEX auth_attempts_email ON auth_attempts (env_id, email_hash, id);

-- +goose Down
DROP TABLE auth_attempts;
