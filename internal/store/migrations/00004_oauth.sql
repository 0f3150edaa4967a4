-- +goose Up
-- The authorization server: OAuth clients, pending authorization requests,
-- authorization codes, browser sessions, grants (one per code redemption:
-- the refresh-token family and its access tokens), refresh tokens and the
-- access tokens issued to users. Portable types only, as in 00001. Secrets
-- (codes, refresh tokens, session cookies) are stored as SHA-256 hex only.

-- oauth_clients holds the OAuth settings of a client. A confidential client
-- is an API client (api_clients, authenticated by client_secrets); a public
-- client (SPA, mobile app) has no secret and must use PKCE. An API client
-- without a row here is a confidential client with nothing registered.
CREATE TABLE oauth_clients (
    id                        TEXT PRIMARY KEY,
    env_id                    TEXT NOT NULL REFERENCES environments (id),
    name                      TEXT NOT NULL,
    public                    BOOLEAN NOT NULL DEFAULT FALSE,
    redirect_uris             TEXT NOT NULL DEFAULT '[]',
    post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]',
    backchannel_logout_uri    TEXT NOT NULL DEFAULT '',
    created_at                BIGINT NOT NULL,
    updated_at                BIGINT NOT NULL
);

-- sessions are browser sessions at Gatehouse (ses_...). cookie_hash is the
-- hash of the login UI's session cookie. Deleting the user or the
-- organization deletes the session and, by cascade, everything issued
-- under it.
CREATE TABLE sessions (
    id                  TEXT PRIMARY KEY,
    env_id              TEXT NOT NULL REFERENCES environments (id),
    user_id             TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    org_id              TEXT REFERENCES organizations (id) ON DELETE CASCADE,
    auth_time           BIGINT NOT NULL,
    amr                 TEXT NOT NULL DEFAULT '[]',
    cookie_hash         TEXT,
    user_agent          TEXT NOT NULL DEFAULT '',
    ip                  TEXT NOT NULL DEFAULT '',
    idle_timeout        BIGINT NOT NULL,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    last_seen_at        BIGINT NOT NULL,
    idle_expires_at     BIGINT NOT NULL,
    absolute_expires_at BIGINT NOT NULL,
    revoked_at          BIGINT,
    end_reason          TEXT NOT NULL DEFAULT '',
    CONSTRAINT sessions_cookie_hash UNIQUE (cookie_hash)
);
CREATE INDEX sessions_user ON sessions (env_id, user_id, id);

-- oauth_auth_requests are authorization requests waiting for the login UI.
-- max_age is -1 when absent.
CREATE TABLE oauth_auth_requests (
    id              TEXT PRIMARY KEY,
    env_id          TEXT NOT NULL REFERENCES environments (id),
    client_id       TEXT NOT NULL,
    redirect_uri    TEXT NOT NULL,
    scope           TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT '',
    nonce           TEXT NOT NULL DEFAULT '',
    code_challenge  TEXT NOT NULL DEFAULT '',
    prompt          TEXT NOT NULL DEFAULT '',
    max_age         BIGINT NOT NULL DEFAULT -1,
    login_hint      TEXT NOT NULL DEFAULT '',
    hint_subject    TEXT NOT NULL DEFAULT '',
    organization_id TEXT NOT NULL DEFAULT '',
    extra           TEXT NOT NULL DEFAULT '{}',
    status          TEXT NOT NULL,
    session_id      TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL
);

-- oauth_grants: one per redeemed code. The refresh tokens of a grant are
-- one family; revoking the grant kills the family and its access tokens.
CREATE TABLE oauth_grants (
    id         TEXT PRIMARY KEY,
    env_id     TEXT NOT NULL REFERENCES environments (id),
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    scope      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX oauth_grants_session ON oauth_grants (env_id, session_id);

-- oauth_codes: authorization codes, single use, bound to the client, the
-- redirect_uri and the PKCE challenge of their request. grant_id is set at
-- redemption so a replay can revoke what the code produced.
CREATE TABLE oauth_codes (
    code_hash      TEXT PRIMARY KEY,
    env_id         TEXT NOT NULL REFERENCES environments (id),
    session_id     TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    client_id      TEXT NOT NULL,
    redirect_uri   TEXT NOT NULL,
    scope          TEXT NOT NULL,
    nonce          TEXT NOT NULL DEFAULT '',
    code_challenge TEXT NOT NULL DEFAULT '',
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT,
    grant_id       TEXT
);

-- refresh_tokens (rt_...): rotated on every use. used_at marks the one
-- rotation a token is allowed; parent_hash links a token to the one it
-- replaced, within its family (grant).
CREATE TABLE refresh_tokens (
    token_hash  TEXT PRIMARY KEY,
    env_id      TEXT NOT NULL REFERENCES environments (id),
    family_id   TEXT NOT NULL REFERENCES oauth_grants (id) ON DELETE CASCADE,
    parent_hash TEXT NOT NULL DEFAULT '',
    session_id  TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    scope       TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    used_at     BIGINT,
    revoked_at  BIGINT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (env_id, family_id);
CREATE INDEX refresh_tokens_session ON refresh_tokens (env_id, session_id);

-- access_tokens records the jti of every user access token, so a revoked
-- grant or session makes its JWTs inactive at introspection and userinfo.
CREATE TABLE access_tokens (
    jti        TEXT PRIMARY KEY,
    env_id     TEXT NOT NULL REFERENCES environments (id),
    grant_id   TEXT NOT NULL REFERENCES oauth_grants (id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX access_tokens_grant ON access_tokens (env_id, grant_id);

-- +goose Down
DROP TABLE access_tokens;
DROP TABLE refresh_tokens;
DROP TABLE oauth_codes;
DROP TABLE oauth_grants;
DROP TABLE oauth_auth_requests;
DROP TABLE sessions;
DROP TABLE oauth_clients;
