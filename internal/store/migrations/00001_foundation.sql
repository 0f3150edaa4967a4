-- +goose Up
-- One schema for SQLite and PostgreSQL: portable types only. Times are Unix
-- microseconds (BIGINT) written by the application's clock, never the
-- database's; JSON documents are TEXT. Every table carries env_id and every
-- query filters on it first.
CREATE TABLE environments (
    id             TEXT PRIMARY KEY,
    type           TEXT NOT NULL,
    page_token_key TEXT NOT NULL,
    created_at     BIGINT NOT NULL
);

CREATE TABLE signing_keys (
    id          TEXT PRIMARY KEY,
    env_id      TEXT NOT NULL REFERENCES environments (id),
    alg         TEXT NOT NULL,
    private_enc TEXT NOT NULL,
    public_jwk  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    retired_at  BIGINT
);

CREATE TABLE api_clients (
    id         TEXT PRIMARY KEY,
    env_id     TEXT NOT NULL REFERENCES environments (id),
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE client_secrets (
    id          TEXT PRIMARY KEY,
    env_id      TEXT NOT NULL,
    client_id   TEXT NOT NULL REFERENCES api_clients (id) ON DELETE CASCADE,
    secret_hash TEXT NOT NULL,
    hint        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX client_secrets_client ON client_secrets (env_id, client_id);

CREATE TABLE organizations (
    id           TEXT PRIMARY KEY,
    env_id       TEXT NOT NULL REFERENCES environments (id),
    display_name TEXT NOT NULL,
    external_id  TEXT,
    region_code  INTEGER NOT NULL DEFAULT 0,
    slug         TEXT,
    logo_url     TEXT,
    metadata     TEXT NOT NULL DEFAULT '{}',
    settings     TEXT NOT NULL DEFAULT '{}',
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    CONSTRAINT organizations_external_id UNIQUE (env_id, external_id)
);
CREATE INDEX organizations_env ON organizations (env_id, id);

CREATE TABLE users (
    id                 TEXT PRIMARY KEY,
    env_id             TEXT NOT NULL REFERENCES environments (id),
    email              TEXT NOT NULL,
    email_norm         TEXT NOT NULL,
    email_verified     BOOLEAN NOT NULL DEFAULT FALSE,
    external_id        TEXT,
    given_name         TEXT NOT NULL DEFAULT '',
    family_name        TEXT NOT NULL DEFAULT '',
    name               TEXT NOT NULL DEFAULT '',
    locale             TEXT NOT NULL DEFAULT '',
    phone_number       TEXT NOT NULL DEFAULT '',
    preferred_username TEXT NOT NULL DEFAULT '',
    picture            TEXT NOT NULL DEFAULT '',
    gender             TEXT NOT NULL DEFAULT '',
    groups_json        TEXT NOT NULL DEFAULT '[]',
    metadata           TEXT NOT NULL DEFAULT '{}',
    profile_metadata   TEXT NOT NULL DEFAULT '{}',
    custom_attributes  TEXT NOT NULL DEFAULT '{}',
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    last_login_at      BIGINT,
    CONSTRAINT users_email UNIQUE (env_id, email_norm),
    CONSTRAINT users_external_id UNIQUE (env_id, external_id)
);
CREATE INDEX users_env ON users (env_id, id);

CREATE TABLE roles (
    id           TEXT PRIMARY KEY,
    env_id       TEXT NOT NULL REFERENCES environments (id),
    org_id       TEXT NOT NULL DEFAULT '',
    name         TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    description  TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    CONSTRAINT roles_name UNIQUE (env_id, org_id, name)
);

CREATE TABLE memberships (
    env_id        TEXT NOT NULL,
    org_id        TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status        INTEGER NOT NULL,
    metadata      TEXT NOT NULL DEFAULT '{}',
    inviter_email TEXT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    accepted_at   BIGINT,
    expires_at    BIGINT,
    resent_at     BIGINT,
    resent_count  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_user ON memberships (env_id, user_id);

CREATE TABLE membership_roles (
    env_id  TEXT NOT NULL,
    org_id  TEXT NOT NULL,
    user_id TEXT NOT NULL,
    role_id TEXT NOT NULL REFERENCES roles (id),
    PRIMARY KEY (org_id, user_id, role_id),
    FOREIGN KEY (org_id, user_id) REFERENCES memberships (org_id, user_id) ON DELETE CASCADE
);
CREATE INDEX membership_roles_role ON membership_roles (env_id, role_id);

-- events is the transactional outbox: every write that matters adds a row in
-- the same transaction, for webhooks and audit logs to pick up.
CREATE TABLE events (
    id         TEXT PRIMARY KEY,
    env_id     TEXT NOT NULL,
    type       TEXT NOT NULL,
    object_id  TEXT NOT NULL,
    payload    TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX events_env ON events (env_id, id);

-- emails is the mail queue, and in development the outbox a developer reads.
CREATE TABLE emails (
    id         TEXT PRIMARY KEY,
    env_id     TEXT NOT NULL,
    to_addr    TEXT NOT NULL,
    subject    TEXT NOT NULL,
    body_text  TEXT NOT NULL,
    kind       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    sent_at    BIGINT
);
CREATE INDEX emails_env ON emails (env_id, id);

-- +goose Down
DROP TABLE emails;
DROP TABLE events;
DROP TABLE membership_roles;
DROP TABLE memberships;
DROP TABLE roles;
DROP TABLE users;
DROP TABLE organizations;
DROP TABLE client_secrets;
DROP TABLE api_clients;
DROP TABLE signing_keys;
DROP TABLE environments;
