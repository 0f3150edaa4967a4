-- +goose Up
-- The hosted login: password hashes, login flows (one per browser tab that
-- is signing in, bound to a cookie), email challenges (a 6-digit code and a
-- magic link sent together), password reset tokens, and login throttling
-- counters. Portable types only, as in 00001. Every secret is stored as a
-- hash: flow cookies, link and reset tokens as SHA-256 hex, codes as an
-- HMAC keyed with a server secret that is not in the database.

-- user_passwords holds a user's password hash (argon2id, or an imported
-- legacy format until the first login rehashes it).
CREATE TABLE user_passwords (
    user_id    TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    env_id     TEXT NOT NULL,
    hash       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- login_flows: the state of one sign-in in one browser. cookie_hash is the
-- hash of the __Host-gatehouse_login cookie; it changes when the user
-- authenticates (so a planted cookie is worth nothing). data is JSON.
CREATE TABLE login_flows (
    id              TEXT PRIMARY KEY,
    env_id          TEXT NOT NULL REFERENCES environments (id),
    cookie_hash     TEXT NOT NULL,
    auth_request_id TEXT NOT NULL DEFAULT '',
    data            TEXT NOT NULL DEFAULT '{}',
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    CONSTRAINT login_flows_cookie_hash UNIQUE (cookie_hash)
);
CREATE INDEX login_flows_expiry ON login_flows (env_id, expires_at);

-- login_challenges: one emailed code and magic link, bound to the flow
-- that asked for it. A newer challenge for the same email ends the older
-- ones (superseded_at). used_at makes it single use.
CREATE TABLE login_challenges (
    id            TEXT PRIMARY KEY,
    env_id        TEXT NOT NULL REFERENCES environments (id),
    flow_id       TEXT NOT NULL,
    email_norm    TEXT NOT NULL,
    code_hash     TEXT NOT NULL,
    link_hash     TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    used_at       BIGINT,
    superseded_at BIGINT,
    CONSTRAINT login_challenges_link_hash UNIQUE (link_hash)
);
CREATE INDEX login_challenges_email ON login_challenges (env_id, email_norm);
CREATE INDEX login_challenges_flow ON login_challenges (env_id, flow_id);

-- password_resets: emailed single-use tokens to set or reset a password.
CREATE TABLE password_resets (
    token_hash TEXT PRIMARY KEY,
    env_id     TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX password_resets_user ON password_resets (env_id, user_id);

-- login_throttle: counters per bucket ("pw:<email>", "ip:<address>", ...) in
-- a window that starts at the first hit; next_at is when the next attempt
-- may run (growing delays).
CREATE TABLE login_throttle (
    env_id       TEXT NOT NULL,
    bucket       TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    hits         INTEGER NOT NULL,
    next_at      BIGINT NOT NULL,
    PRIMARY KEY (env_id, bucket)
);

-- +goose Down
DROP TABLE login_throttle;
DROP TABLE password_resets;
DROP TABLE login_challenges;
DROP TABLE login_flows;
DROP TABLE user_passwords;
